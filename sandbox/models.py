"""Sandbox tables: the events Meta would have received, the error answers it gave, the injected faults."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.dbtypes import UTCDateTime, utcnow
from extensions import db


class ReceivedEvent(db.Model):
    """One event the sandbox accepted, exactly as it arrived, marked when Meta would have discarded it."""

    __tablename__ = "sandbox_received_event"
    __table_args__ = (
        # The dedup lookup: same pixel and event_id, received recently.
        Index("ix_sandbox_received_dedup", "pixel_id", "event_id", "received_at"),
        # The Test events page's filters, newest first.
        Index("ix_sandbox_received_pixel_code", "pixel_id", "test_event_code", "id"),
        Index("ix_sandbox_received_code", "test_event_code", "id"),
        # The page's per-minute chart reads the last 30 minutes.
        Index("ix_sandbox_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pixel_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    test_event_code: Mapped[str | None] = mapped_column(Text)
    event_name: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(Text)
    deduplicated: Mapped[bool] = mapped_column(Boolean, default=False)
    fbtrace_id: Mapped[str] = mapped_column(String(32))
    event: Mapped[dict] = mapped_column(JSON)

    def to_json(self) -> dict:
        """Return the row in the shape of GET /sandbox/api/received."""
        return {
            "id": self.id,
            "pixel_id": self.pixel_id,
            "received_at": self.received_at.isoformat(),
            "test_event_code": self.test_event_code,
            "deduplicated": self.deduplicated,
            "fbtrace_id": self.fbtrace_id,
            "event": self.event,
        }


class ErrorAnswer(db.Model):
    """One error the sandbox answered with, and why; only the most recent ones are kept."""

    __tablename__ = "sandbox_error_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    pixel_id: Mapped[str | None] = mapped_column(String(64), index=True)
    test_event_code: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int] = mapped_column(Integer)
    code: Mapped[int] = mapped_column(Integer)
    error_subcode: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    injected: Mapped[bool] = mapped_column(Boolean, default=False)
    fbtrace_id: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict] = mapped_column(JSON)

    def to_json(self) -> dict:
        """Return the row as the JSON API shows it."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "pixel_id": self.pixel_id,
            "test_event_code": self.test_event_code,
            "http_status": self.http_status,
            "code": self.code,
            "error_subcode": self.error_subcode,
            "reason": self.reason,
            "injected": self.injected,
            "body": self.body,
        }


class ServiceFault(db.Model):
    """The faults injected into one sandbox service's next requests (sandbox/faults.py)."""

    __tablename__ = "sandbox_service_fault"

    service: Mapped[str] = mapped_column(String(16), primary_key=True)  # meta_capi, ga4, google_ads, webhook
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(16))
    error_rate: Mapped[float] = mapped_column(Float, default=1.0)  # a probability, not money
    remaining: Mapped[int | None] = mapped_column(Integer)  # errors left to inject; None = no limit
    hang_ms: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def active(self) -> bool:
        """Tell whether any fault is set."""
        return bool(self.latency_ms) or (self.error is not None and self.remaining != 0)

    def to_json(self) -> dict:
        """Return the faults in the shape the faults PUT accepts."""
        body: dict = {}
        if self.latency_ms:
            body["latency_ms"] = self.latency_ms
        if self.error is not None:
            body["error"] = self.error
            body["error_rate"] = self.error_rate
            if self.remaining is not None:
                body["count"] = self.remaining
            if self.error == "timeout" and self.hang_ms is not None:
                body["hang_ms"] = self.hang_ms
        return body
