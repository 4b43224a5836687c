"""What each destination was told of each order's refunds: the reconciliation's summary rows (ReportTold).

For every order that gave money back (its facts: credit slips, full refunds and chargebacks, all days
together, reports.refunds' rule), one row for the shop itself (destination ``""``: what it gave back,
and which destinations do not know it exactly) and one per registered destination, in five columns
that add up to what the order gave back:

- acknowledged: the values of the events the destination accepted (sent);
- waiting: events still pending (queued or retrying);
- failed: events the destination refused or that ran out of retries;
- out of window: money no event carries and the destination would now refuse (its delivery window,
  counted from the last refund, has closed);
- not eligible: money no event carries while the window is open, with the reason of the destination's
  latest decision (module disabled, not a trigger, unpaid, a value set without tax or shipping...).

Test events are left out. A destination matches when everything the order gave back was acknowledged,
no more and no less. The two columns that depend on the clock (out of window or not eligible, and how
many failed events can still be resent) are right until the row's ``recheck_at``: the roll-up
recomputes the rows whose time has come, so the stored rows are always what ``now`` would compute.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import delete, func, insert, select

from delivery.models import FAILED, PENDING, SENT, Decision, OutboxEvent
from delivery.registry import Destination, destinations
from extensions import db
from reports.models import ORDER_LEVEL, ReportFact, ReportTold, ReportToldDay
from reports.refunds import cents, to_money
from shop.models import Order

SHOP = ""  # the order's own row: what it gave back, and who does not know it
STATUS_COLUMN = {SENT: "acknowledged", PENDING: "waiting", FAILED: "failed"}
COLUMNS = ("acknowledged", "waiting", "failed", "out_of_window", "not_eligible")
SUMMED = ("refunded", *COLUMNS, "over_reported", "resendable")
NO_DECISION = "no decision recorded for this order"
REPORTED_LESS = "reported less than the shop gave back (the destination's value settings, or a slip not reported)"
INSERTED_AT_ONCE = 5000
DAYS_AT_ONCE = 100


def window_end(destination: Destination, row) -> datetime | None:
    """Return when the destination stops accepting the row's event, or None when it cannot tell."""
    try:
        return destination.window(row)
    except Exception:  # a window function that does not understand the row: assume still open
        return None


def recompute_told(ids: list[int], now: datetime) -> set[date]:
    """Replace the told rows of these orders; return the days whose sums change (of the rows removed and written)."""
    days = set(db.session.scalars(select(ReportTold.day).distinct().where(ReportTold.order_id.in_(ids))))
    db.session.execute(delete(ReportTold).where(ReportTold.order_id.in_(ids)))
    rows = told_rows(ids, destinations(current_app), now)
    for start in range(0, len(rows), INSERTED_AT_ONCE):
        db.session.execute(insert(ReportTold), rows[start : start + INSERTED_AT_ONCE])
    return days | {row["day"] for row in rows}


def told_rows(ids: list[int], registered: dict[str, Destination], now: datetime) -> list[dict]:
    """The told rows of these orders: the shop's own, and one per registered destination."""
    orders = _given_back(ids)
    if not orders:
        return []
    wanted = list(orders)
    told = _told(wanted)
    failed = _failed_events(wanted)
    decisions = _latest_decisions(wanted)
    rows = []
    for order_id, (currency, refunded, last_at) in orders.items():
        shop = _row(order_id, SHOP, currency, refunded, last_at)
        mine = [shop]
        for name, destination in registered.items():
            row = _row(order_id, name, currency, refunded, last_at)
            for status, amount in told.get((order_id, name), {}).items():
                row[STATUS_COLUMN[status]] = amount
            for event in failed.get((order_id, name), ()):
                end = window_end(destination, event)
                if end is None or end > now:
                    row["resendable"] += 1
                    _recheck(row, end)
            _explain_gap(row, destination, decisions.get((order_id, name)), now)
            mine.append(row)
        mismatched = ",".join(sorted(row["destination"] for row in mine[1:] if not matches(row)))
        for row in mine:
            row["mismatched"] = mismatched
        rows.extend(mine)
    return rows


def matches(row: dict) -> bool:
    """Whether the destination acknowledged exactly what the order gave back."""
    return not any(row[name] for name in (*COLUMNS[1:], "over_reported"))


def _row(order_id: int, destination: str, currency: str, refunded: int, last_at: datetime) -> dict:
    return {
        "order_id": order_id,
        "destination": destination,
        "currency": currency,
        "day": last_at.date(),
        "last_event_at": last_at,
        "refunded": refunded,
        **dict.fromkeys((*COLUMNS, "over_reported", "resendable"), 0),
        "reason": "",
        "mismatched": "",
        "recheck_at": None,
    }


def _recheck(row: dict, end: datetime | None) -> None:
    if end is not None and (row["recheck_at"] is None or end < row["recheck_at"]):
        row["recheck_at"] = end


def _explain_gap(row: dict, destination: Destination, decision, now: datetime) -> None:
    """Put the money no event carries in out of window or not eligible, or note what was over-reported."""
    currency, refunded = row["currency"], row["refunded"]
    carried = row["acknowledged"] + row["waiting"] + row["failed"]
    gap = refunded - carried
    if gap < 0:
        row["over_reported"] = -gap
        row["reason"] = f"told {to_money(carried):.2f} {currency}, more than the {to_money(refunded):.2f} given back"
        return
    if gap == 0:
        return
    outcome, reason = decision or (None, NO_DECISION)
    because = reason if outcome != "fired" else REPORTED_LESS
    stand_in = SimpleNamespace(
        payload={}, created_at=row["last_event_at"], destination=destination.name, order_id=row["order_id"]
    )
    end = window_end(destination, stand_in)
    if end is not None and end <= now:
        row["out_of_window"] = gap
        row["reason"] = f"{destination.display_name} accepts events until {end:%Y-%m-%d %H:%M} UTC; {because}"
    else:
        row["not_eligible"] = gap
        row["reason"] = because
        _recheck(row, end)


def _given_back(ids: list[int]) -> dict[int, tuple[str, int, datetime]]:
    """The orders among ids that gave money back: currency, what they gave back in all (cents), and when last."""
    f = ReportFact
    amount = func.sum(f.refunds + f.chargeback_amount)
    statement = (
        select(f.order_id, Order.currency, amount, func.max(f.last_event_at))
        .join(Order, Order.id == f.order_id)
        .where(f.order_id.in_(ids), f.level == ORDER_LEVEL)
        .group_by(f.order_id, Order.currency)
        .having(amount > 0)
    )
    return {
        order_id: (currency, int(total), last_at)
        for order_id, currency, total, last_at in db.session.execute(statement)
        if last_at is not None
    }


def real_events(order_ids) -> tuple:
    """The conditions of the orders' real events: no test code, a value (what reconciles)."""
    return (
        OutboxEvent.order_id.in_(order_ids),
        OutboxEvent.test_event_code.is_(None),
        OutboxEvent.value.is_not(None),
    )


def _told(order_ids: list[int]) -> dict[tuple[int, str], dict[str, int]]:
    told: dict = defaultdict(dict)
    statement = (
        select(OutboxEvent.order_id, OutboxEvent.destination, OutboxEvent.status, func.sum(cents(OutboxEvent.value)))
        .where(*real_events(order_ids))
        .group_by(OutboxEvent.order_id, OutboxEvent.destination, OutboxEvent.status)
    )
    for order_id, destination, status, amount in db.session.execute(statement):
        if status in STATUS_COLUMN:
            told[(order_id, destination)][status] = int(amount or 0)
    return told


def _failed_events(order_ids: list[int]) -> dict[tuple[int, str], list[OutboxEvent]]:
    failed: dict = defaultdict(list)
    for event in db.session.scalars(select(OutboxEvent).where(*real_events(order_ids), OutboxEvent.status == FAILED)):
        failed[(event.order_id, event.destination)].append(event)
    return failed


def _latest_decisions(order_ids: list[int]) -> dict[tuple[int, str], tuple[str, str]]:
    """Return each (order, destination)'s latest recorded decision (even for a change dated in the past)."""
    latest = (
        select(func.max(Decision.id).label("id"))
        .where(Decision.order_id.in_(order_ids))
        .group_by(Decision.order_id, Decision.destination)
        .subquery("latest")
    )
    statement = select(Decision.order_id, Decision.destination, Decision.outcome, Decision.reason).join(
        latest, latest.c.id == Decision.id
    )
    return {(order_id, name): (outcome, reason) for order_id, name, outcome, reason in db.session.execute(statement)}


def rebuild_told_days(days: Iterable[date]) -> None:
    """Write again the sums of these days from their told rows."""
    ordered = sorted(days)
    for start in range(0, len(ordered), DAYS_AT_ONCE):
        chunk = ordered[start : start + DAYS_AT_ONCE]
        db.session.execute(delete(ReportToldDay).where(ReportToldDay.day.in_(chunk)))
        t = ReportTold
        keys = (t.day, t.currency, t.destination, t.mismatched)
        sums = select(*keys, func.count(), *(func.sum(getattr(t, name)) for name in SUMMED)).where(t.day.in_(chunk))
        columns = ("day", "currency", "destination", "mismatched", "orders", *SUMMED)
        db.session.execute(insert(ReportToldDay).from_select(columns, sums.group_by(*keys)))


def due_for_recheck(now: datetime, at_most: int) -> list[int]:
    """Up to at_most orders whose told rows a closed window has made stale."""
    statement = select(ReportTold.order_id).distinct().where(ReportTold.recheck_at <= now).limit(at_most)
    return list(db.session.scalars(statement))
