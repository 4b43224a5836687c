"""What the webhook sandbox received (one row per request) and the secrets its receivers verify with."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.dbtypes import UTCDateTime, utcnow
from extensions import db


class WebhookHit(db.Model):
    """One request a sandbox webhook receiver got: raw body, headers, and whether its signature verified."""

    __tablename__ = "sandbox_webhook_hit"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    name: Mapped[str] = mapped_column(String(64), index=True)
    headers: Mapped[dict] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verification_error: Mapped[str | None] = mapped_column(Text)
    answered: Mapped[int] = mapped_column(Integer)  # the HTTP status the receiver answered

    def to_json(self) -> dict:
        """Return the row in the shape of GET /sandbox/api/received?destination=webhook."""
        return {
            "id": self.id,
            "destination": "webhook",
            "received_at": self.received_at.isoformat(),
            "name": self.name,
            "headers": self.headers,
            "body": self.body,
            "verified": self.verified,
            "verification_error": self.verification_error,
            "answered": self.answered,
        }


class WebhookSecret(db.Model):
    """The secret a sandbox receiver verifies with, set by a tester or the demo (never shown back)."""

    __tablename__ = "sandbox_webhook_secret"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
