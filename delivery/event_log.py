"""Reading the outbox and the decisions for the log pages, the exports and the JSON API.

Lists use keyset pagination on the id (newest first, ``before=<id>``), so the thousandth page of a
table holding millions of rows costs the same as the first. Nothing here ever holds the access token:
payloads and request bodies never contain it, and errors were scrubbed when they were recorded. Every
destination's events and decisions are here; a filter narrows them to one.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask import g
from sqlalchemy import false, func, or_, select

from core.csvsafe import csv_line
from delivery.jsontext import dumps
from delivery.models import FAILED, PENDING, SENT, Decision, OutboxEvent, parse_answer
from extensions import db

STATUSES = (PENDING, SENT, FAILED)
REFERENCE_LENGTH = 9
REFERENCE_PART = re.compile(r"[A-Z]{1,9}")
ORDER_IDS_LISTED = 2000
OUTCOMES = ("fired", "skipped", "error")
EXPORT_CHUNK = 1000


@dataclass
class EventFilter:
    """What the sent-events log is narrowed to; empty fields filter nothing."""

    status: str | None = None
    destination: str | None = None
    order_reference: str | None = None
    order_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    test_event_code: str | None = None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(value not in (None, "") for value in vars(self).values())

    def args(self) -> dict:
        """Return the filter as URL query arguments."""
        return {
            key: (value.isoformat() if isinstance(value, date) else value)
            for key, value in vars(self).items()
            if value not in (None, "")
        }

    def conditions(self, with_status: bool = True) -> list:
        """Return the SQL conditions of the filter."""
        where = []
        if with_status and self.status:
            where.append(OutboxEvent.status == self.status)
        if self.destination:
            where.append(OutboxEvent.destination == self.destination)
        if self.order_reference:
            where.append(events_with_reference(self.order_reference))
        if self.order_id is not None:
            where.append(OutboxEvent.order_id == self.order_id)
        if self.date_from:
            where.append(OutboxEvent.created_at >= _start_of(self.date_from))
        if self.date_to:
            where.append(OutboxEvent.created_at < _start_of(self.date_to + timedelta(days=1)))
        if self.test_event_code:
            where.append(OutboxEvent.test_event_code == self.test_event_code.strip())
        return where


@dataclass
class DecisionFilter:
    """What the decisions list is narrowed to."""

    outcome: str | None = None
    destination: str | None = None
    order_reference: str | None = None
    order_id: int | None = None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(value not in (None, "") for value in vars(self).values())

    def args(self) -> dict:
        """Return the filter as URL query arguments."""
        return {key: value for key, value in vars(self).items() if value not in (None, "")}

    def conditions(self) -> list:
        """Return the SQL conditions of the filter."""
        where = []
        if self.outcome:
            where.append(Decision.outcome == self.outcome)
        if self.destination:
            where.append(Decision.destination == self.destination)
        if self.order_id is not None:
            where.append(Decision.order_id == self.order_id)
        if self.order_reference:
            part = reference_part(self.order_reference)
            where.append(Decision.order_id.in_(orders_with_reference(part)) if part else false())
        return where


def reference_part(text: str) -> str | None:
    """Return text as a part of an order reference (trimmed, uppercase), or None when no reference holds it.

    References are 9 letters A-Z (DOMAIN.md 1.4), so anything else (%, _, digits, a lone surrogate, 10,000
    characters) can only match nothing: it never reaches the SQL, where it could act as a wildcard or fail
    to encode.
    """
    part = text.strip().upper()
    return part if REFERENCE_PART.fullmatch(part) else None


def orders_with_reference(part: str):
    """Return a SELECT of the ids of the orders whose reference holds part, anywhere (part from reference_part).

    The orders table is much smaller than the outbox (an order has an event per destination and refund): a
    scan of its references (SQLite reads their index alone) costs 50-65 ms at 500,000 orders, never a scan
    of the events.
    """
    from shop.models import Order

    if len(part) == REFERENCE_LENGTH:
        return select(Order.id).where(Order.reference == part)
    return select(Order.id).where(Order.reference.contains(part))


def events_with_reference(text: str):
    """Match the events of the orders whose reference holds text, anywhere, case-insensitive.

    A whole reference is an equality on the events' own index. A part is the range of references that start
    with it (``>= 'ABC' AND < 'ABD'``, on the events' reference index: it also finds events whose order is
    gone or that never had one), or the events of the orders whose reference holds it
    (the orders table is searched first, then the events through their order_id index): never a scan of
    every event for a LIKE.
    """
    part = reference_part(text)
    if part is None:
        return false()
    column = OutboxEvent.order_reference
    if len(part) == REFERENCE_LENGTH:
        return column == part
    # References are uppercase A-Z: the next prefix bumps the last letter ('Z' + 1 is '[', still above it).
    starts = (column >= part) & (column < part[:-1] + chr(ord(part[-1]) + 1))
    order_ids = _order_ids_holding(part)
    holding = orders_with_reference(part) if order_ids is None else order_ids
    return or_(starts, OutboxEvent.order_id.in_(holding))


def _order_ids_holding(part: str) -> list[int] | None:
    """Return the ids of the orders whose reference holds part, or None when over ORDER_IDS_LISTED do.

    Read once per request (a page asks for its rows, its counts and its neighbours with the same filter),
    so the orders' references are scanned once; the ids then reach the events through their order_id
    index. A part most references hold (one or two letters) stays a subquery rather than a long list.
    """
    found = g.setdefault("orders_holding_part", {})
    if part not in found:
        ids = list(db.session.scalars(orders_with_reference(part).order_by(None).limit(ORDER_IDS_LISTED + 1)))
        found[part] = ids if len(ids) <= ORDER_IDS_LISTED else None
    return found[part]


@dataclass
class Page:
    """One page of a newest-first list, with the cursors of its neighbours."""

    items: list
    per_page: int
    older: int | None = None  # pass as before= for the next (older) page
    newer: int | None = None  # pass as after= for the previous (newer) page
    extra: dict = field(default_factory=dict)


def _exists(query) -> bool:
    return db.session.scalar(select(query.limit(1).exists())) or False


def events_page(filters: EventFilter, per_page: int, before: int | None = None, after: int | None = None) -> Page:
    """Return one page of outbox events, newest first."""
    base = select(OutboxEvent).where(*filters.conditions())
    # A reference's events are a few orders' events, together somewhere among the ids: read them through the
    # reference's indexes and sort them. Ordered by the bare id, PostgreSQL's planner bets on walking the ids
    # down from the newest until a page is found (it assumes matches spread evenly): 500 ms at 1,000,000
    # events for a reference from last month. "+ 0" orders the same but is not the primary key's order.
    order = OutboxEvent.id + 0 if filters.order_reference else OutboxEvent.id
    return _page(base, order, per_page, before, after)


def decisions_page(filters: DecisionFilter, per_page: int, before: int | None = None, after: int | None = None) -> Page:
    """Return one page of decisions, newest first."""
    base = select(Decision).where(*filters.conditions())
    return _page(base, Decision.id, per_page, before, after)


def _page(base, id_column, per_page: int, before: int | None, after: int | None) -> Page:
    """Return one page of base, newest first, from a cursor (before: older than; after: newer than)."""
    if after is not None:
        rows = list(db.session.scalars(base.where(id_column > after).order_by(id_column.asc()).limit(per_page + 1)))
        has_newer = len(rows) > per_page
        rows = list(reversed(rows[:per_page]))
        has_older = bool(rows) and _exists(base.where(id_column < rows[-1].id))
    else:
        query = base.where(id_column < before) if before is not None else base
        rows = list(db.session.scalars(query.order_by(id_column.desc()).limit(per_page + 1)))
        has_older = len(rows) > per_page
        rows = rows[:per_page]
        has_newer = bool(rows) and before is not None and _exists(base.where(id_column > rows[0].id))
    return Page(
        items=rows,
        per_page=per_page,
        older=rows[-1].id if rows and has_older else None,
        newer=rows[0].id if rows and has_newer else None,
    )


def decision_count(filters: DecisionFilter) -> int:
    """Return how many decisions match the filter."""
    return db.session.scalar(select(func.count()).select_from(Decision).where(*filters.conditions())) or 0


def status_counts(filters: EventFilter) -> dict[str, int]:
    """Return how many events of each status match the filter (the status filter aside)."""
    counts = dict.fromkeys(STATUSES, 0)
    query = select(OutboxEvent.status, func.count()).where(*filters.conditions(with_status=False))
    for status, count in db.session.execute(query.group_by(OutboxEvent.status)):
        counts[status] = count
    return counts


def events_chunk(filters: EventFilter, before: int | None, size: int | None = None) -> list[OutboxEvent]:
    """Return the next chunk of events matching the filter, newest first, older than before."""
    query = select(OutboxEvent).where(*filters.conditions())
    if before is not None:
        query = query.where(OutboxEvent.id < before)
    return list(db.session.scalars(query.order_by(OutboxEvent.id.desc()).limit(size or EXPORT_CHUNK)))


def export(filters: EventFilter, fmt: str, app) -> Iterator[str]:
    """Yield the export of the filtered list (csv or json) a chunk at a time, for a streamed response.

    Each chunk is read in its own short app context, closed before the chunk is yielded: a context held
    across a yield would be popped out of order by whatever runs between two reads of the body.
    """
    yield CSV_HEADER if fmt == "csv" else "["
    before, first = None, True
    while True:
        with app.app_context():
            rows = events_chunk(filters, before)
            if not rows:
                break
            text = csv_text(rows) if fmt == "csv" else json_text(rows, first)
            before, first = rows[-1].id, False
        yield text
    if fmt == "json":
        yield "\n]\n"


def event_json(event: OutboxEvent) -> dict:
    """Return an event as the JSON API and the JSON export show it (payload parsed, numbers exact)."""
    return {
        "id": event.id,
        "order_id": event.order_id,
        "order_reference": event.order_reference,
        "event_name": event.event_name,
        "event_id": event.event_id,
        "destination": event.destination,
        "target": event.target,
        "test_event_code": event.test_event_code,
        "status": event.status,
        "attempts": event.attempts,
        "last_error": event.last_error,
        "value": event.value,
        "currency": event.currency,
        "payload": json.loads(event.payload_json, parse_float=Decimal),
        "response": parse_answer(event.response_json),
        "created_at": _iso(event.created_at),
        "next_attempt_at": _iso(event.next_attempt_at) if event.status == PENDING else None,
        "sent_at": _iso(event.sent_at),
    }


def decision_json(decision: Decision) -> dict:
    """Return a decision as the JSON API shows it."""
    return {
        "id": decision.id,
        "destination": decision.destination,
        "order_id": decision.order_id,
        "trigger": decision.trigger,
        "old_state_id": decision.old_state_id,
        "new_state_id": decision.new_state_id,
        "credit_slip_id": decision.credit_slip_id,
        "at": _iso(decision.at),
        "outcome": decision.outcome,
        "reason": decision.reason,
        "outbox_event_id": decision.outbox_event_id,
    }


CSV_COLUMNS = (
    "id",
    "created_at",
    "order_id",
    "order_reference",
    "event_name",
    "event_id",
    "status",
    "attempts",
    "value",
    "currency",
    "test_event_code",
    "sent_at",
    "last_error",
    "payload",
    "destination",  # last, so scripts reading the columns by position keep working
)


CSV_HEADER = csv_line(CSV_COLUMNS)


def csv_text(events: list[OutboxEvent]) -> str:
    """Return CSV lines for events, one line each."""
    return "".join(
        csv_line(
            [
                event.id,
                _iso(event.created_at),
                event.order_id or "",
                event.order_reference or "",
                event.event_name,
                event.event_id,
                event.status,
                event.attempts,
                event.value if event.value is not None else "",
                event.currency or "",
                event.test_event_code or "",
                _iso(event.sent_at) or "",
                event.last_error or "",
                event.payload_json,
                event.destination,
            ]
        )
        for event in events
    )


def json_text(events: list[OutboxEvent], first: bool) -> str:
    """Return events as JSON array items, one per line (first: no leading comma)."""
    items = ",\n".join(dumps(event_json(event)) for event in events)
    return ("\n" if first else ",\n") + items


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
