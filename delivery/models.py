"""Delivery tables: the outbox of events, delivery attempts, every module's decisions, and the state
of each destination's circuit breaker."""

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.dbtypes import Money, UTCDateTime, utcnow
from extensions import db

# Outbox statuses (INTERFACES.md): pending until the destination acknowledged it or it failed for good.
PENDING, SENT, FAILED = "pending", "sent", "failed"
# Decision outcomes.
FIRED, SKIPPED, ERROR = "fired", "skipped", "error"
# The destination rows written before delivery was shared belong to (Meta's Conversions API).
META_CAPI = "meta_capi"


class RecordedOnce:
    """A row a status change records by the thousand and only inserts: its constructor costs less.

    The ORM's default constructor sends an attribute event per value, keeping a history a new row has no
    use for; here column values go straight into the instance's ``__dict__``, which is what the flush
    (and a bulk batch's own insert, ``shop.batch``) reads. Relationships and other attributes are still
    set through their attribute, so the flush links the rows as before.
    """

    def __init__(self, **values):
        columns = _column_keys(type(self))
        for key in values.keys() - columns:
            if not hasattr(type(self), key):
                raise TypeError(f"{key!r} is an invalid keyword argument for {type(self).__name__}")
            setattr(self, key, values.pop(key))
        self.__dict__.update(values)


_COLUMN_KEYS: dict[type, frozenset] = {}


def _column_keys(model: type) -> frozenset:
    if model not in _COLUMN_KEYS:
        _COLUMN_KEYS[model] = frozenset(prop.key for prop in inspect(model).column_attrs)
    return _COLUMN_KEYS[model]


class Decision(RecordedOnce, db.Model):
    """What a module decided for one status change (or credit slip): fired, skipped or error, and why."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(32), default=META_CAPI, server_default=META_CAPI, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(16), default="status")  # status | credit_slip
    old_state_id: Mapped[int | None] = mapped_column(ForeignKey("order_state.id"))
    new_state_id: Mapped[int | None] = mapped_column(ForeignKey("order_state.id"))
    credit_slip_id: Mapped[int | None] = mapped_column(ForeignKey("credit_slip.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(8), index=True)
    reason: Mapped[str] = mapped_column(Text)
    outbox_event_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_event.id"))

    outbox_event: Mapped["OutboxEvent | None"] = relationship()


attempt_event = Table(
    "delivery_attempt_event",
    db.Model.metadata,
    Column("attempt_id", ForeignKey("delivery_attempt.id", ondelete="CASCADE"), primary_key=True),
    Column("outbox_event_id", ForeignKey("outbox_event.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_attempt_event_event", "outbox_event_id"),
)


class OutboxEvent(RecordedOnce, db.Model):
    """One event to deliver, holding the exact payload; written in the status change's transaction."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        UniqueConstraint("destination", "target", "event_name", "event_id"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The log's charts group recent events by hour, status and currency: this index holds every column
        # they read, so they scan a slice of it and never the rows (payloads make the rows wide). Its
        # leading created_at also serves what the plain created_at index served (the purge, date filters).
        Index("ix_outbox_activity", "created_at", "status", "destination", "currency", "value", "test_event_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(32), default=META_CAPI)
    target: Mapped[str] = mapped_column(String(64))  # where it goes at the destination: the pixel id for Meta
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    order_reference: Mapped[str | None] = mapped_column(String(9), index=True)
    event_name: Mapped[str] = mapped_column(String(50))
    event_id: Mapped[str] = mapped_column(String(128))
    value: Mapped[Decimal | None] = mapped_column(Money)  # what this event reports, for "already reported"
    currency: Mapped[str | None] = mapped_column(String(3))
    test_event_code: Mapped[str | None] = mapped_column(String(64), index=True)
    payload_json: Mapped[str] = mapped_column(Text)  # the event exactly as it will be sent
    status: Mapped[str] = mapped_column(String(8), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    response_json: Mapped[str | None] = mapped_column(Text)  # the last answer, truncated (may not parse)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempt_rows: Mapped[list["DeliveryAttempt"]] = relationship(
        secondary=attempt_event, back_populates="events", order_by="DeliveryAttempt.id"
    )

    @property
    def payload(self) -> dict:
        """The stored payload, parsed."""
        return json.loads(self.payload_json)

    @property
    def response(self) -> dict | str | None:
        """The destination's last answer, parsed (or as text when it was not JSON or was truncated)."""
        return parse_answer(self.response_json)


def parse_answer(text: str | None) -> dict | list | str | None:
    """Return a stored answer parsed as JSON, or the text itself when it does not parse."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class DeliveryAttempt(db.Model):
    """One HTTP exchange with a destination, carrying one or more outbox events."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(32), default=META_CAPI)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    worker: Mapped[str | None] = mapped_column(String(64))
    request_url: Mapped[str] = mapped_column(Text)  # secrets masked
    request_body: Mapped[str | None] = mapped_column(Text)  # never holds a secret
    # JSON {name: value} of the headers sent, secrets masked (None: recorded before headers were kept).
    request_headers: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)  # truncated
    response_headers: Mapped[str | None] = mapped_column(Text)  # JSON {name: value} of the answer's headers
    fbtrace_id: Mapped[str | None] = mapped_column(String(64))  # the destination's trace id (Meta's fbtrace_id)
    duration_ms: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(16))  # sent | transient | permanent | bad_event | split
    error: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list[OutboxEvent]] = relationship(secondary=attempt_event, back_populates="attempt_rows")

    @property
    def sent_headers(self) -> list[tuple[str, str]]:
        """The request's headers as (name, value), in the order sent; empty when not recorded."""
        return _header_items(self.request_headers)

    @property
    def answer_headers(self) -> list[tuple[str, str]]:
        """The answer's headers as (name, value); empty when not recorded or there was no answer."""
        return _header_items(self.response_headers)


def _header_items(text: str | None) -> list[tuple[str, str]]:
    parsed = parse_answer(text)
    return [(str(k), str(v)) for k, v in parsed.items()] if isinstance(parsed, dict) else []


class DestinationState(db.Model):
    """A destination's circuit breaker, shared by every worker through the database."""

    __tablename__ = "delivery_destination_state"

    destination: Mapped[str] = mapped_column(String(32), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None while closed
    next_probe_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    probe_claim: Mapped[str | None] = mapped_column(String(64))  # the claim carrying the probe in flight
    probe_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
