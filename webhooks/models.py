"""The webhook endpoints a merchant registers, each with its signing secret (and the previous one while rotating)."""

from datetime import datetime, timedelta

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.dbtypes import UTCDateTime, utcnow
from extensions import db

# Standard Webhooks: the old secret keeps signing for a while, so receivers can switch over.
ROTATION_GRACE = timedelta(hours=24)


class WebhookEndpoint(db.Model):
    """A URL that receives signed refund events; its secrets sign but are never shown again after creation."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Stored so they can sign (not hashed); never shown, logged or put into a message.
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the endpoint was switched off by the shop itself (an HTTP 410 Gone), for the settings page.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def signing_secrets(self, now: datetime) -> list[str]:
        """Return the secrets that sign a request sent at now: the current one, and the previous during its grace."""
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            secrets.append(self.previous_secret)
        return secrets

    def to_json(self) -> dict:
        """Return the endpoint as the API shows it (without its secret)."""
        return {
            "id": self.id,
            "url": self.url,
            "event_types": list(self.event_types or []),
            "enabled": self.enabled,
            "secret": mask_secret(self.secret),
            "rotating_until": self.previous_secret_until.isoformat() if self.rotating else None,
            "disabled_reason": self.disabled_reason,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }

    @property
    def rotating(self) -> bool:
        """Whether a previous secret still signs."""
        return bool(self.previous_secret and self.previous_secret_until and utcnow() < self.previous_secret_until)


def mask_secret(secret: str | None) -> str:
    """Show a secret as its prefix and last four characters: ``whsec_…9x2Q``."""
    if not secret:
        return ""
    return f"whsec_…{secret[-4:]}"
