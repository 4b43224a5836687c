"""Reconciliation: what the shop gave back per order against what each destination was told.

For every order with a refund (or chargeback) dated in the period, the shop's side is what the order
gave back in all (reports.refunds: credit slips and full refunds, tax and shipping included, never more
than was paid). Each enabled destination's side comes from the delivery service's outbox (test events
left out) and its decisions, in five columns that add up to what the shop gave back:

- acknowledged: the values of the events the destination accepted (sent);
- waiting: events still pending (queued or retrying);
- failed: events the destination refused or that ran out of retries;
- out of window: money no event carries and the destination would now refuse (its delivery window,
  counted from the last refund, has closed);
- not eligible: money no event carries while the window is open, with the reason of the destination's
  latest decision (module disabled, not a trigger, unpaid, a value set without tax or shipping...).
An order matches a destination when everything it gave back was acknowledged, no more and no less.
"Send what is missing" queues again the failed events whose window is still open (the delivery
service's resend, same event id): an amount no event carries can only come from the module's own
decision on a new status change.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core.dbtypes import utcnow
from delivery.dispatcher import NotFailed, requeue
from delivery.models import FAILED, PENDING, SENT, Decision, OutboxEvent
from delivery.registry import Destination, destinations
from extensions import db
from reports.models import ORDER_LEVEL, ReportFact
from reports.period import Period
from reports.readonly import report_queries
from reports.refunds import cents
from reports.revenue import to_money
from reports.summary import refresh
from shop.models import Order

ZERO = Decimal("0.00")
IN_CHUNK = 5000
COLUMNS = ("acknowledged", "waiting", "failed", "out_of_window", "not_eligible")
STATUS_COLUMN = {SENT: "acknowledged", PENDING: "waiting", FAILED: "failed"}
NO_DECISION = "no decision recorded for this order"
REPORTED_LESS = "reported less than the shop gave back (the destination's value settings, or a slip not reported)"


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

    def add(self, other: "Told") -> None:
        """Add other's amounts (for totals)."""
        for name in (*COLUMNS, "over_reported"):
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
    """One order: what it gave back, and what each destination was told."""

    order_id: int
    reference: str
    currency: str
    refunded: Decimal
    last_refund_at: datetime
    destinations: dict[str, Told] = field(default_factory=dict)

    @property
    def mismatch(self) -> bool:
        """Whether some destination does not know exactly what the order gave back."""
        return any(not told.matches for told in self.destinations.values())

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
    """Every order of the period, and per currency the totals of each destination."""

    destinations: dict[str, str]  # name: display name, of the enabled destinations
    orders: list[OrderReconciliation]
    totals: dict[str, dict[str, Told]]  # currency: destination: sums
    refunded: dict[str, Decimal]  # currency: what the orders gave back
    mismatches: int


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


def window_end(destination: Destination, row) -> datetime | None:
    """Return when the destination stops accepting the row's event, or None when it cannot tell."""
    try:
        return destination.window(row)
    except Exception:  # a window function that does not understand the row: assume still open
        return None


def reconcile(period: Period, mismatches_only: bool = False, now: datetime | None = None) -> Reconciliation:
    """Return the reconciliation of the orders with a refund or chargeback dated in period."""
    now = now or utcnow()
    enabled = enabled_destinations()
    refresh()
    report_queries()
    orders = _orders(period)
    order_ids = [order.order_id for order in orders]
    told = _told(order_ids)
    failed = _failed_events(order_ids)
    decisions = _latest_decisions(order_ids)
    totals: dict[str, dict[str, Told]] = defaultdict(lambda: {name: Told() for name in enabled})
    refunded: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rows = []
    for order in orders:
        for name, destination in enabled.items():
            sums = told.get((order.order_id, name), {})
            row = Told(**{STATUS_COLUMN[status]: amount for status, amount in sums.items()})
            for event in failed.get((order.order_id, name), ()):
                end = window_end(destination, event)
                if end is None or end > now:
                    row.resendable += 1
            _explain_gap(row, order, destination, decisions.get((order.order_id, name)), now)
            order.destinations[name] = row
        if mismatches_only and not order.mismatch:
            continue
        rows.append(order)
        refunded[order.currency] += order.refunded
        for name, row in order.destinations.items():
            totals[order.currency][name].add(row)
    return Reconciliation(
        {name: d.display_name for name, d in enabled.items()},
        rows,
        dict(totals),
        dict(refunded),
        sum(1 for order in rows if order.mismatch),
    )


def _explain_gap(row: Told, order: OrderReconciliation, destination: Destination, decision, now: datetime) -> None:
    """Put the money no event carries in out of window or not eligible, or note what was over-reported."""
    carried = row.acknowledged + row.waiting + row.failed
    gap = order.refunded - carried
    if gap < 0:
        row.over_reported = -gap
        row.reason = f"told {carried:.2f} {order.currency}, more than the {order.refunded:.2f} given back"
        return
    if gap == 0:
        return
    outcome, reason = decision or (None, NO_DECISION)
    stand_in = SimpleNamespace(
        payload={}, created_at=order.last_refund_at, destination=destination.name, order_id=order.order_id
    )
    end = window_end(destination, stand_in)
    if end is not None and end <= now:
        row.out_of_window = gap
        row.reason = f"{destination.display_name} accepts events until {end:%Y-%m-%d %H:%M} UTC; " + (
            reason if outcome != "fired" else REPORTED_LESS
        )
    else:
        row.not_eligible = gap
        row.reason = reason if outcome != "fired" else REPORTED_LESS


def _orders(period: Period) -> list[OrderReconciliation]:
    """The orders with a refund or chargeback dated in period, with what they gave back in all and when last."""
    f, everything = ReportFact, aliased(ReportFact)
    dated = (
        select(f.order_id)
        .where(f.day.between(period.first, period.last), f.level == ORDER_LEVEL, f.events > 0)
        .distinct()
        .subquery("dated")
    )
    in_all = (
        select(
            everything.order_id,
            func.sum(everything.refunds + everything.chargeback_amount).label("amount"),
            func.max(everything.last_event_at).label("at"),
        )
        .join(dated, dated.c.order_id == everything.order_id)
        .where(everything.level == ORDER_LEVEL)
        .group_by(everything.order_id)
        .subquery("in_all")
    )
    statement = (
        select(in_all.c.order_id, Order.reference, Order.currency, in_all.c.amount, in_all.c.at)
        .join(Order, Order.id == in_all.c.order_id)
        .order_by(in_all.c.at.desc(), in_all.c.order_id.desc())
    )
    return [
        OrderReconciliation(order_id, reference, currency, to_money(amount), last_at)
        for order_id, reference, currency, amount, last_at in db.session.execute(statement)
        if amount and amount > 0
    ]


def _real_events(order_ids):
    return (
        OutboxEvent.order_id.in_(order_ids),
        OutboxEvent.test_event_code.is_(None),
        OutboxEvent.value.is_not(None),
    )


def _chunks(order_ids: list[int]) -> Iterable[list[int]]:
    """Split the ids so no IN list outgrows what a database takes as parameters (SQLite: 32,766)."""
    for start in range(0, len(order_ids), IN_CHUNK):
        yield order_ids[start : start + IN_CHUNK]


def _told(order_ids: list[int]) -> dict[tuple[int, str], dict[str, Decimal]]:
    told: dict = defaultdict(dict)
    for ids in _chunks(order_ids):
        statement = (
            select(
                OutboxEvent.order_id, OutboxEvent.destination, OutboxEvent.status, func.sum(cents(OutboxEvent.value))
            )
            .where(*_real_events(ids))
            .group_by(OutboxEvent.order_id, OutboxEvent.destination, OutboxEvent.status)
        )
        for order_id, destination, status, amount in db.session.execute(statement):
            if status in STATUS_COLUMN:
                told[(order_id, destination)][status] = to_money(amount)
    return told


def _failed_events(order_ids: list[int]) -> dict[tuple[int, str], list[OutboxEvent]]:
    failed: dict = defaultdict(list)
    for ids in _chunks(order_ids):
        for event in db.session.scalars(select(OutboxEvent).where(*_real_events(ids), OutboxEvent.status == FAILED)):
            failed[(event.order_id, event.destination)].append(event)
    return failed


def _latest_decisions(order_ids: list[int]) -> dict[tuple[int, str], tuple[str, str]]:
    """Return each (order, destination)'s latest decision: (outcome, reason)."""
    latest = {}
    for ids in _chunks(order_ids):
        statement = (
            select(Decision.order_id, Decision.destination, Decision.outcome, Decision.reason)
            .where(Decision.order_id.in_(ids))
            .order_by(Decision.id)  # the latest recorded, even for a change dated in the past
        )
        for order_id, destination, outcome, reason in db.session.execute(statement):
            latest[(order_id, destination)] = (outcome, reason)
    return latest


def resendable(
    period: Period, order_id: int | None = None, destination: str | None = None, now: datetime | None = None
) -> list[tuple[OutboxEvent, datetime | None]]:
    """Return the failed events of the period's mismatched orders whose window is still open, with its end.

    Narrowed to one order and/or one destination when given.
    """
    now = now or utcnow()
    enabled = enabled_destinations()
    found = []
    for order in reconcile(period, mismatches_only=True, now=now).orders:
        if order_id is not None and order.order_id != order_id:
            continue
        wanted = [name for name in order.destinations if destination in (None, name)]
        for event in _failed_of(order.order_id, wanted):
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


def _failed_of(order_id: int, names: list[str]) -> list[OutboxEvent]:
    if not names:
        return []
    statement = (
        select(OutboxEvent)
        .where(*_real_events([order_id]), OutboxEvent.status == FAILED, OutboxEvent.destination.in_(names))
        .order_by(OutboxEvent.id)
    )
    return list(db.session.scalars(statement))
