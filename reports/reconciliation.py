"""Reconciliation: what the shop gave back per order against what each enabled destination was told.

The rows are the reports' summary rows (reports.told: the five columns, their rule, and how they stay
current); this module reads them for a period. An order is listed on the day of its latest refund or
chargeback, with everything it gave back; it is a mismatch when one of the *enabled* destinations does
not know exactly that. Totals per currency come from the told rows' daily sums, so a year costs a few
thousand rows whatever the number of orders; the orders themselves are read one page at a time.
"Send what is missing" queues again the failed events whose window is still open (the delivery
service's resend, same event id): an amount no event carries can only come from the module's own
decision on a new status change.
"""

from collections import defaultdict
from collections.abc import Iterable, KeysView
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, false, func, literal, or_, select

from core.dbtypes import utcnow
from core.pages import Pages
from delivery.dispatcher import NotFailed, requeue
from delivery.models import FAILED, OutboxEvent
from delivery.registry import Destination, destinations
from extensions import db
from reports.models import ReportTold, ReportToldDay
from reports.period import Period
from reports.readonly import report_queries
from reports.refunds import to_money
from reports.summary import refresh
from reports.told import COLUMNS, SHOP, real_events, window_end
from shop.models import Order

ZERO = Decimal("0.00")
IN_CHUNK = 5000
PER_PAGE = 100
SUMS = (*COLUMNS, "over_reported")


@dataclass
class Told:
    """What one destination knows of one order's refunds (or, summed, of many orders')."""

    acknowledged: Decimal = ZERO
    waiting: Decimal = ZERO
    failed: Decimal = ZERO
    out_of_window: Decimal = ZERO
    not_eligible: Decimal = ZERO
    over_reported: Decimal = ZERO
    reason: str = ""
    resendable: int = 0  # failed events whose window is still open

    @classmethod
    def of(cls, row, reason: str = "") -> "Told":
        """Read a told row (or a sum of them), whose amounts are cents."""
        return cls(**{name: to_money(getattr(row, name)) for name in SUMS}, reason=reason, resendable=row.resendable)

    def add(self, other: "Told") -> None:
        """Add other's amounts (for totals)."""
        for name in SUMS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.resendable += other.resendable

    @property
    def matches(self) -> bool:
        """Whether the destination acknowledged exactly what the shop gave back."""
        return all(getattr(self, name) == ZERO for name in (*COLUMNS[1:], "over_reported"))

    def as_json(self) -> dict:
        """The destination's columns as the JSON API shows them."""
        data = {name: f"{getattr(self, name):.2f}" for name in COLUMNS}
        data.update(
            over_reported=f"{self.over_reported:.2f}",
            reason=self.reason or None,
            resendable=self.resendable,
            matches=self.matches,
        )
        return data


@dataclass
class OrderReconciliation:
    """One order: what it gave back, and what each enabled destination was told."""

    order_id: int
    reference: str
    currency: str
    refunded: Decimal
    last_refund_at: datetime
    mismatch: bool
    destinations: dict[str, Told] = field(default_factory=dict)

    def as_json(self) -> dict:
        """The order's row as the JSON API shows it."""
        return {
            "order_id": self.order_id,
            "reference": self.reference,
            "currency": self.currency,
            "refunded": f"{self.refunded:.2f}",
            "last_refund_at": self.last_refund_at.isoformat(),
            "mismatch": self.mismatch,
            "destinations": {name: told.as_json() for name, told in self.destinations.items()},
        }


@dataclass
class Reconciliation:
    """One page of the period's orders, and per currency the totals of each enabled destination."""

    destinations: dict[str, str]  # name: display name, of the enabled destinations
    orders: list[OrderReconciliation]  # this page's
    totals: dict[str, dict[str, Told]]  # currency: destination: sums
    refunded: dict[str, Decimal]  # currency: what the listed orders gave back
    orders_total: int  # listed in the period (all pages)
    mismatches: int
    pages: Pages

    @property
    def resendable(self) -> int:
        """How many failed events of the listed orders can still be sent again (their window is open)."""
        return sum(told.resendable for sums in self.totals.values() for told in sums.values())


def enabled_destinations(app=None) -> dict[str, Destination]:
    """Return the registered destinations that are enabled (a destination may say so with ``enabled()``)."""
    found = destinations(app or current_app)
    return {name: d for name, d in found.items() if _enabled(d)}


def _enabled(destination: Destination) -> bool:
    enabled = getattr(destination, "enabled", None)
    if enabled is None:
        return True
    try:
        return bool(enabled() if callable(enabled) else enabled)
    except Exception:  # a module that cannot tell is shown rather than hidden
        return True


def _mismatched(names: str, enabled) -> bool:
    """Whether the order's mismatched destinations (comma-separated) include an enabled one."""
    return bool(names) and not enabled.isdisjoint(names.split(","))


def _mismatch_condition(enabled):
    """SQL for "mismatched for an enabled destination" on told rows (one test when every destination is enabled)."""
    if not enabled:
        return false()
    t = ReportTold
    if enabled >= set(destinations(current_app)):
        return t.mismatched != ""
    listed = literal(",") + t.mismatched + literal(",")
    return and_(t.mismatched != "", or_(*(listed.contains(f",{name},", autoescape=True) for name in enabled)))


def reconcile(
    period: Period,
    mismatches_only: bool = False,
    now: datetime | None = None,
    page: int = 1,
    per_page: int | None = None,
) -> Reconciliation:
    """Return the reconciliation of the orders whose latest refund or chargeback is dated in period (one page)."""
    now = now or utcnow()
    per_page = per_page or PER_PAGE
    enabled = enabled_destinations()
    names = enabled.keys()  # in the registry's order, and set-like
    refresh(now)
    report_queries()
    orders_total, mismatches, refunded = _counts(period, names, mismatches_only)
    totals = _totals(period, names, mismatches_only, refunded)
    rows = _page(period, names, mismatches_only, page, per_page)
    return Reconciliation(
        {name: d.display_name for name, d in enabled.items()},
        rows,
        totals,
        refunded,
        orders_total,
        mismatches,
        Pages(page, per_page, orders_total),
    )


def _day_sums(period: Period, *columns):
    d = ReportToldDay
    return select(d.currency, d.mismatched, *columns).where(d.day.between(period.first, period.last))


def _counts(period: Period, enabled: KeysView[str], mismatches_only: bool) -> tuple[int, int, dict[str, Decimal]]:
    """How many orders are listed, how many are mismatched, and what the listed ones gave back per currency."""
    d = ReportToldDay
    statement = (
        _day_sums(period, func.sum(d.orders), func.sum(d.refunded))
        .where(d.destination == SHOP)
        .group_by(d.currency, d.mismatched)
    )
    listed = mismatched = 0
    refunded: dict[str, Decimal] = {}
    for currency, names, orders, amount in db.session.execute(statement):
        wrong = _mismatched(names, enabled)
        mismatched += int(orders) if wrong else 0
        if mismatches_only and not wrong:
            continue
        listed += int(orders)
        refunded[currency] = refunded.get(currency, ZERO) + to_money(amount)
    return listed, mismatched, dict(sorted(refunded.items()))


def _totals(period: Period, enabled: KeysView[str], mismatches_only: bool, refunded) -> dict[str, dict[str, Told]]:
    """Per currency and enabled destination, the sums of the listed orders' told rows."""
    d = ReportToldDay
    totals = {currency: {name: Told() for name in enabled} for currency in refunded}
    if not enabled:
        return totals
    summed = (func.sum(getattr(d, name)).label(name) for name in (*SUMS, "resendable"))
    statement = (
        _day_sums(period, d.destination, *summed)
        .where(d.destination.in_(list(enabled)))
        .group_by(d.currency, d.mismatched, d.destination)
    )
    for row in db.session.execute(statement):
        if mismatches_only and not _mismatched(row.mismatched, enabled):
            continue
        totals.setdefault(row.currency, {name: Told() for name in enabled})[row.destination].add(Told.of(row))
    return totals


def _listed(period: Period, enabled: KeysView[str], mismatches_only: bool):
    """The shop's told rows of the orders listed in period, newest refund first."""
    t = ReportTold
    statement = select(t).where(t.destination == SHOP, t.last_event_at >= period.start, t.last_event_at < period.end)
    if mismatches_only:
        statement = statement.where(_mismatch_condition(enabled))
    return statement.order_by(t.last_event_at.desc(), t.order_id.desc())


def _page(period: Period, enabled: KeysView[str], mismatches_only: bool, page: int, per_page: int):
    listed = _listed(period, enabled, mismatches_only).limit(per_page).offset((page - 1) * per_page)
    shops = list(db.session.scalars(listed))
    ids = [shop.order_id for shop in shops]
    if not ids:
        return []
    references = dict(db.session.execute(select(Order.id, Order.reference).where(Order.id.in_(ids))).all())
    told: dict[int, dict[str, ReportTold]] = defaultdict(dict)
    if enabled:
        t = ReportTold
        for row in db.session.scalars(select(t).where(t.order_id.in_(ids), t.destination.in_(list(enabled)))):
            told[row.order_id][row.destination] = row
    return [
        OrderReconciliation(
            shop.order_id,
            references.get(shop.order_id, ""),
            shop.currency,
            to_money(shop.refunded),
            shop.last_event_at,
            _mismatched(shop.mismatched, enabled),
            {name: Told.of(row, row.reason) for name in enabled if (row := told[shop.order_id].get(name)) is not None},
        )
        for shop in shops
    ]


def resendable(
    period: Period, order_id: int | None = None, destination: str | None = None, now: datetime | None = None
) -> list[tuple[OutboxEvent, datetime | None]]:
    """Return the failed events of the period's orders whose window is still open, with its end.

    Narrowed to one order and/or one destination when given.
    """
    now = now or utcnow()
    enabled = enabled_destinations()
    wanted = [name for name in enabled if destination in (None, name)]
    if not wanted:
        return []
    refresh(now)
    t = ReportTold
    pairs = select(t.order_id, t.destination).where(
        t.destination.in_(wanted), t.resendable > 0, t.last_event_at >= period.start, t.last_event_at < period.end
    )
    if order_id is not None:
        pairs = pairs.where(t.order_id == order_id)
    by_order: dict[int, set[str]] = defaultdict(set)
    for order, name in db.session.execute(pairs):
        by_order[order].add(name)
    found = []
    for event in _failed_of(list(by_order)):
        if event.destination not in by_order[event.order_id]:
            continue
        end = window_end(enabled[event.destination], event)
        if end is None or end > now:
            found.append((event, end))
    return found


def send_missing(events: Iterable[OutboxEvent], now: datetime | None = None) -> tuple[int, list[str]]:
    """Queue the events again (same event id); return how many and why the others were not; the caller commits."""
    queued, refused = 0, []
    for event in events:
        try:
            requeue(event, now)
        except NotFailed as error:  # someone resent it meanwhile, or it was delivered
            refused.append(str(error))
            continue
        queued += 1
    return queued, refused


def _failed_of(order_ids: list[int]) -> list[OutboxEvent]:
    """The failed real events (no test code, with a value) of these orders, oldest first."""
    found = []
    for start in range(0, len(order_ids), IN_CHUNK):
        statement = (
            select(OutboxEvent)
            .where(*real_events(order_ids[start : start + IN_CHUNK]), OutboxEvent.status == FAILED)
            .order_by(OutboxEvent.id)
        )
        found.extend(db.session.scalars(statement))
    return found
