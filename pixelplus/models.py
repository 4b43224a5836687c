"""Pixel Plus tables: settings, decisions, the outbox of events, and delivery attempts."""

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.dbtypes import Money, UTCDateTime, utcnow
from extensions import db

# Outbox statuses (INTERFACES.md): pending until the destination acknowledged it or gave up.
PENDING, SENT, FAILED = "pending", "sent", "failed"
# Decision outcomes.
FIRED, SKIPPED, ERROR = "fired", "skipped", "error"
# Destinations an outbox row can name; only Meta's Conversions API is built today.
META_CAPI = "meta_capi"


class ModuleSetting(db.Model):
    """One stored setting of a module, by name (PrestaShop's Configuration table)."""

    __tablename__ = "module_setting"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[str | None] = mapped_column(Text)


class Decision(db.Model):
    """What the module decided for one status change (or credit slip): fired, skipped or error, and why."""

    __tablename__ = "pixelplus_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(16), default="status")  # status | credit_slip
    old_state_id: Mapped[int | None] = mapped_column(ForeignKey("order_state.id"))
    new_state_id: Mapped[int | None] = mapped_column(ForeignKey("order_state.id"))
    credit_slip_id: Mapped[int | None] = mapped_column(ForeignKey("credit_slip.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(8), index=True)
    reason: Mapped[str] = mapped_column(Text)
    outbox_event_id: Mapped[int | None] = mapped_column(ForeignKey("pixelplus_outbox_event.id"))

    outbox_event: Mapped["OutboxEvent | None"] = relationship()


attempt_event = Table(
    "pixelplus_attempt_event",
    db.Model.metadata,
    Column("attempt_id", ForeignKey("pixelplus_attempt.id", ondelete="CASCADE"), primary_key=True),
    Column("outbox_event_id", ForeignKey("pixelplus_outbox_event.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_attempt_event_event", "outbox_event_id"),
)


class OutboxEvent(db.Model):
    """One event to deliver, holding the exact payload; written in the status change's transaction."""

    __tablename__ = "pixelplus_outbox_event"
    __table_args__ = (
        UniqueConstraint("destination", "target", "event_name", "event_id"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
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
    response_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempt_rows: Mapped[list["DeliveryAttempt"]] = relationship(
        secondary=attempt_event, back_populates="events", order_by="DeliveryAttempt.id"
    )

    @property
    def payload(self) -> dict:
        """The stored payload, parsed."""
        return json.loads(self.payload_json)

    @property
    def response(self) -> dict | None:
        """The destination's last answer, parsed."""
        return json.loads(self.response_json) if self.response_json else None


class DeliveryAttempt(db.Model):
    """One HTTP exchange with a destination, carrying one or more outbox events."""

    __tablename__ = "pixelplus_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(32), default=META_CAPI)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    worker: Mapped[str | None] = mapped_column(String(64))
    request_url: Mapped[str] = mapped_column(Text)  # the access token masked
    request_body: Mapped[str | None] = mapped_column(Text)  # never holds the access token
    http_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    fbtrace_id: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(16))  # sent | transient | permanent | split
    error: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list[OutboxEvent]] = relationship(secondary=attempt_event, back_populates="attempt_rows")
