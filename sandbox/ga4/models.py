"""What the GA4 sandbox received: one row per event (or per unusable request), grouped by request."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.dbtypes import UTCDateTime, utcnow
from extensions import db


class Ga4Hit(db.Model):
    """One event the GA4 sandbox received, with its request's fields; event is None for an unusable body."""

    __tablename__ = "sandbox_ga4_hit"
    __table_args__ = (Index("ix_sandbox_ga4_hit_measurement", "measurement_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    debug: Mapped[bool] = mapped_column(Boolean, default=False)
    measurement_id: Mapped[str | None] = mapped_column(String(64))
    api_secret_hint: Mapped[str | None] = mapped_column(String(16))  # masked: the secret is never stored
    client_id: Mapped[str | None] = mapped_column(Text)
    event_name: Mapped[str | None] = mapped_column(Text)
    event: Mapped[dict | None] = mapped_column(JSON)
    request: Mapped[dict | None] = mapped_column(JSON)  # the body without its events
    messages: Mapped[list | None] = mapped_column(JSON)  # validationMessages (debug) or why it was unusable

    def to_json(self) -> dict:
        """Return the row in the shape of GET /sandbox/api/received?destination=ga4."""
        return {
            "id": self.id,
            "destination": "ga4",
            "received_at": self.received_at.isoformat(),
            "request_id": self.request_id,
            "debug": self.debug,
            "measurement_id": self.measurement_id,
            "api_secret": self.api_secret_hint,
            "client_id": self.client_id,
            "event_name": self.event_name,
            "event": self.event,
            "request": self.request,
            "validation_messages": self.messages or [],
        }
