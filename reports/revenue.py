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

from sqlalchemy import distinct, func, select

from extensions import db
from reports.period import Period
from reports.readonly import report_queries
from reports.refunds import CHARGEBACK, cents, given_back
from reports.states import ending_states
from shop.models import Order, Payment

CENTS = Decimal(100)
ORDER_GROUPINGS = ("source", "campaign")  # groupings by a column of the order
NO_SOURCE = ""  # orders placed without utm_source / utm_campaign (direct, or created in the back office)


def to_money(value) -> Decimal:
    """Turn integer cents from SQL into a Decimal amount."""
    return (Decimal(int(value or 0)) / CENTS).quantize(Decimal("0.01"))


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
    report_queries()
    if group_by == "product":
        from reports.products import product_report

        return product_report(period)
    states = ending_states()
    gone = given_back(period, states)
    rows: dict[tuple[str, str], Figures] = {}
    totals: dict[str, Figures] = {}
    key_of = _grouping(group_by)
    _add_payments(rows, period, key_of(Payment.at), group_by)
    _add_payments(totals, period, None, None)
    add_given_back(rows, totals, gone, key_of(gone.c.at))
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


def _grouping(group_by: str):
    """Return a function of the date column giving the group key expression."""
    if group_by == "day":
        return func.date
    column = Order.utm_source if group_by == "source" else Order.utm_campaign
    return lambda _at: func.coalesce(column, NO_SOURCE)


def slot_of(target: dict, currency: str, key) -> Figures:
    """Return the row of (currency, key), or the currency's totals when key is None; made when missing."""
    slot_key = currency if key is None else (currency, str(key))
    if slot_key not in target:
        target[slot_key] = Figures(key="total" if key is None else str(key))
    return target[slot_key]


def _add_payments(target: dict, period: Period, key, group_by: str | None) -> None:
    # The payment carries the order's currency, so only a grouping by source or campaign reads the orders.
    grouped = [key] if key is not None else []
    statement = (
        select(Payment.currency, func.sum(cents(Payment.amount)), func.count(distinct(Payment.order_id)), *grouped)
        .where(Payment.at >= period.start, Payment.at < period.end)
        .group_by(Payment.currency, *grouped)
    )
    if group_by in ORDER_GROUPINGS:
        statement = statement.join(Order, Order.id == Payment.order_id)
    for currency, gross, paid_orders, *group in db.session.execute(statement):
        slot = slot_of(target, currency, group[0] if group else None)
        slot.gross += to_money(gross)
        slot.paid_orders += int(paid_orders)


def add_given_back(rows: dict, totals: dict, gone, key) -> None:
    """Add the refunds and chargebacks of ``gone`` (order_id, kind, amount) to rows by key and to totals.

    The rows are read once and tallied here: orders are counted once per row and once in the totals
    however many refunds they had, and the database runs the refund rule once, not once per tally.
    """
    statement = select(gone.c.order_id, Order.currency, key, gone.c.kind, gone.c.amount).join(
        Order, Order.id == gone.c.order_id
    )
    refunded: dict[tuple, set] = {}
    charged_back: dict[tuple, set] = {}
    for order_id, currency, group, kind, amount in db.session.execute(statement):
        for target, key_value in ((rows, group), (totals, None)):
            slot = slot_of(target, currency, key_value)
            counted = (currency, key_value)
            if kind == CHARGEBACK:
                slot.chargeback_amount += to_money(amount)
                if order_id not in charged_back.setdefault(counted, set()):
                    charged_back[counted].add(order_id)
                    slot.chargebacks += 1
            elif amount and amount > 0:
                slot.refunds += to_money(amount)
                slot.refund_count += 1
                if order_id not in refunded.setdefault(counted, set()):
                    refunded[counted].add(order_id)
                    slot.refunded_orders += 1


def _every_day(rows: list[Figures], period: Period) -> list[Figures]:
    """Return one row per day of the period, empty days included, so a chart's axis has no gaps."""
    by_day = {row.key: row for row in rows}
    return [by_day.get(day.isoformat()) or Figures(key=day.isoformat()) for day in period.days()]
