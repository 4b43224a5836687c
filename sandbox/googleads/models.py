"""What the Google Ads sandbox knows (conversions) and received (adjustments, applied or refused)."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from core.dbtypes import Money, UTCDateTime, utcnow
from extensions import db


class AdsConversion(db.Model):
    """A purchase Google Ads recorded as a conversion, identified by order id."""

    __tablename__ = "sandbox_googleads_conversion"
    __table_args__ = (
        UniqueConstraint("customer_id", "conversion_action_id", "order_id", name="uq_sandbox_googleads_conversion"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(10))
    conversion_action_id: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[str] = mapped_column(String(64))
    converted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))

    def to_json(self) -> dict:
        """Return the conversion as the tester API shows it."""
        return {
            "customer_id": self.customer_id,
            "conversion_action_id": self.conversion_action_id,
            "order_id": self.order_id,
            "conversion_date_time": self.converted_at.isoformat(),
            "value": None if self.value is None else str(self.value),
            "currency": self.currency,
        }


class AdsAdjustment(db.Model):
    """One adjustment row the sandbox received: applied, refused with an error code, or only validated."""

    __tablename__ = "sandbox_googleads_adjustment"
    __table_args__ = (Index("ix_sandbox_googleads_adjustment_conversion", "conversion_id", "applied"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    job_id: Mapped[str] = mapped_column(String(20), index=True)
    customer_id: Mapped[str] = mapped_column(String(16))
    login_customer_id: Mapped[str | None] = mapped_column(String(16))
    validate_only: Mapped[bool] = mapped_column(Boolean, default=False)
    conversion_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "sandbox_googleads_conversion.id", name="fk_sandbox_googleads_adjustment_conversion", ondelete="CASCADE"
        )
    )
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    adjustment_type: Mapped[str | None] = mapped_column(Text)
    adjusted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    adjusted_value: Mapped[Decimal | None] = mapped_column(Money)
    error_code: Mapped[str | None] = mapped_column(String(64))
    adjustment: Mapped[dict] = mapped_column(JSON)  # the row exactly as it arrived

    def to_json(self) -> dict:
        """Return the row in the shape of GET /sandbox/api/received?destination=google_ads."""
        return {
            "id": self.id,
            "destination": "google_ads",
            "received_at": self.received_at.isoformat(),
            "job_id": self.job_id,
            "customer_id": self.customer_id,
            "login_customer_id": self.login_customer_id,
            "validate_only": self.validate_only,
            "applied": self.applied,
            "error_code": self.error_code,
            "adjustment": self.adjustment,
        }


def register_conversions(customer_id: str, action_id: str, conversions: list[dict]) -> None:
    """Make conversions known by order id ({order_id, at, value, currency}); a known one is updated. Caller commits.

    The tester API uses it, and so does the demo (`shop init-demo`) for the purchases it creates.
    """
    known = {
        row.order_id: row
        for row in db.session.scalars(
            select(AdsConversion).where(
                AdsConversion.customer_id == customer_id,
                AdsConversion.conversion_action_id == action_id,
                AdsConversion.order_id.in_([c["order_id"] for c in conversions]),
            )
        )
    }
    for conversion in conversions:
        row = known.get(conversion["order_id"])
        if row is None:
            row = AdsConversion(
                customer_id=customer_id, conversion_action_id=action_id, order_id=conversion["order_id"]
            )
            db.session.add(row)
            known[conversion["order_id"]] = row
        row.converted_at, row.value, row.currency = conversion["at"], conversion["value"], conversion["currency"]
