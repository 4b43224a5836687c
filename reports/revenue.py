"""Gross revenue, refunds, chargebacks, net revenue and refund rate per currency, grouped one way.

- Gross revenue: the payments recorded in the period (an order is paid when a paid state records its
  payment), on the payment's date; paid orders are the orders those payments belong to.
- Refunds and chargebacks: what orders gave back in the period, on the refund's date (reports.refunds).
- Net revenue = gross − refunds − chargebacks. Refund rate = refunded orders ÷ paid orders.
Currencies are never added together: every figure is per currency. By product, only product lines
count (tax included; shipping and discounts belong to no product): see reports.products.
"""

from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, or_, select, text

from extensions import db
from reports.models import ORDER_LEVEL, SEEN_AGAIN, ReportDay, ReportFact
from reports.period import Period
from reports.readonly import report_queries
from reports.refunds import to_money
from reports.summary import FIGURES, refresh

NO_SOURCE = ""  # orders placed without utm_source / utm_campaign (direct, or created in the back office)


@dataclass
class Figures:
    """One row of a report: money in one currency and the order counts behind it."""

    key: str
    label: str = ""
    gross: Decimal = Decimal("0.00")
    paid_orders: int = 0
    refunds: Decimal = Decimal("0.00")
    refund_count: int = 0
    refunded_orders: int = 0
    chargebacks: int = 0
    chargeback_amount: Decimal = Decimal("0.00")

    @property
    def net(self) -> Decimal:
        """Gross revenue less refunds and chargebacks."""
        return self.gross - self.refunds - self.chargeback_amount

    @property
    def refund_rate(self) -> Decimal | None:
        """Refunded orders ÷ paid orders (4 decimals), None without paid orders."""
        if not self.paid_orders:
            return None
        return (Decimal(self.refunded_orders) / Decimal(self.paid_orders)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )

    def as_json(self) -> dict:
        """The row as the JSON API shows it (money as strings with two decimals)."""
        rate = self.refund_rate
        return {
            "key": self.key,
            "label": self.label or self.key,
            "gross": f"{self.gross:.2f}",
            "paid_orders": self.paid_orders,
            "refunds": f"{self.refunds:.2f}",
            "refund_count": self.refund_count,
            "refunded_orders": self.refunded_orders,
            "chargebacks": self.chargebacks,
            "chargeback_amount": f"{self.chargeback_amount:.2f}",
            "net": f"{self.net:.2f}",
            "refund_rate": None if rate is None else f"{rate}",
        }


@dataclass
class CurrencyReport:
    """The rows and the totals of one currency."""

    currency: str
    totals: Figures
    rows: list[Figures] = field(default_factory=list)

    def as_json(self) -> dict:
        """The currency's part of the JSON answer."""
        return {"currency": self.currency, "totals": self.totals.as_json(), "rows": [r.as_json() for r in self.rows]}


def revenue_report(period: Period, group_by: str) -> list[CurrencyReport]:
    """Return the report for period grouped by day, source or campaign (product: reports.products)."""
    refresh()
    report_queries()
    if group_by == "product":
        from reports.products import product_report

        return product_report(period)
    rows: dict[tuple[str, str], Figures] = {}
    totals: dict[str, Figures] = {}
    key = {"day": ReportDay.day, "source": ReportDay.source, "campaign": ReportDay.campaign}[group_by]
    statement = (
        select(ReportDay.currency, key, *summed())
        .where(in_period(period), ReportDay.level == ORDER_LEVEL)
        .group_by(ReportDay.currency, key)
    )
    for currency, group, *figures in db.session.execute(statement):
        for slot in (slot_of(rows, currency, group), slot_of(totals, currency, None)):
            add_figures(slot, figures)
    # A day is a group of its own: an order seen again on another day is another day's.
    keys = () if group_by == "day" else ((ReportFact.source if group_by == "source" else ReportFact.campaign),)
    for currency, *group, paid, refunded, charged_back in seen_again(period, ReportFact.level == ORDER_LEVEL, *keys):
        targets = [slot_of(totals, currency, None)]
        if group:
            targets.append(slot_of(rows, currency, group[0]))
        for slot in targets:
            count_once(slot, paid, refunded, charged_back)
    reports = []
    for currency in sorted(totals):
        mine = [row for (cur, _key), row in rows.items() if cur == currency]
        if group_by == "day":
            mine = _every_day(mine, period)
        else:
            mine.sort(key=lambda row: (-row.gross, row.key))
        for row in mine:
            row.label = row.label or (row.key if row.key != NO_SOURCE else "(none)")
        reports.append(CurrencyReport(currency, replace(totals[currency], key="total", label="Total"), mine))
    return reports


def in_period(period: Period):
    """The summary rows of the period's days."""
    return ReportDay.day.between(period.first, period.last)


def summed() -> tuple:
    """The sums of the summary rows' figures, in the order of FIGURES."""
    return tuple(func.sum(getattr(ReportDay, name)) for name in FIGURES)


def add_figures(slot: Figures, figures) -> None:
    """Add summed figures (in the order of FIGURES, money in cents) to a row."""
    sums = dict(zip(FIGURES, (int(value or 0) for value in figures), strict=True))
    slot.gross += to_money(sums["gross"])
    slot.paid_orders += sums["paid_orders"]
    slot.refunds += to_money(sums["refunds"])
    slot.refund_count += sums["refund_count"]
    slot.refunded_orders += sums["refunded_orders"]
    slot.chargebacks += sums["chargebacks"]
    slot.chargeback_amount += to_money(sums["chargeback_amount"])


def seen_again(period: Period, levels, *keys) -> list:
    """Per currency (and keys), the orders the period's daily sums counted again: paid, refunded, charged back.

    They are the period's facts of orders already counted on an earlier day of the period (few rows,
    read through a partial index), counted in SQL.
    """
    f = ReportFact

    def again(previous):
        return func.sum(case((previous >= period.first, 1), else_=0))

    statement = (
        select(f.currency, *keys, again(f.prev_paid_day), again(f.prev_refund_day), again(f.prev_chargeback_day))
        .where(
            f.day.between(period.first, period.last),
            text(f"({SEEN_AGAIN})"),  # the partial index's condition, word for word
            levels,
            or_(
                f.prev_paid_day >= period.first,
                f.prev_refund_day >= period.first,
                f.prev_chargeback_day >= period.first,
            ),
        )
        .group_by(f.currency, *keys)
    )
    return [tuple(row) for row in db.session.execute(statement)]


def count_once(slot: Figures, paid, refunded, charged_back) -> None:
    """Take back the orders a day's sum counted again (their previous day is in the period too)."""
    slot.paid_orders -= int(paid or 0)
    slot.refunded_orders -= int(refunded or 0)
    slot.chargebacks -= int(charged_back or 0)


def slot_of(target: dict, currency: str, key) -> Figures:
    """Return the row of (currency, key), or the currency's totals when key is None; made when missing."""
    slot_key = currency if key is None else (currency, str(key))
    if slot_key not in target:
        target[slot_key] = Figures(key="total" if key is None else str(key))
    return target[slot_key]


def _every_day(rows: list[Figures], period: Period) -> list[Figures]:
    """Return one row per day of the period, empty days included, so a chart's axis has no gaps."""
    by_day = {row.key: row for row in rows}
    return [by_day.get(day.isoformat()) or Figures(key=day.isoformat()) for day in period.days()]
