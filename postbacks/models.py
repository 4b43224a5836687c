"""Postback tables: every refund postback and Stripe event received, and the module's one settings row."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.dbtypes import Money, UTCDateTime, utcnow
from extensions import db
from shop.models import CreditSlip, Order

# Where a postback came from.
NETWORK, STRIPE = "network", "stripe"
# What it asks for (the seed's `type`).
CHARGEBACK, CUSTOMER_REQUEST = "chargeback", "customer_request"
# Its life: received (queued) → processed or refused; a second one with the same txid is a duplicate.
RECEIVED, PROCESSED, REFUSED, DUPLICATE = "received", "processed", "refused", "duplicate"
STATUSES = (RECEIVED, PROCESSED, REFUSED, DUPLICATE)


class Postback(db.Model):
    """One refund postback or Stripe event as received, then what processing it did and why."""

    __tablename__ = "postback"
    __table_args__ = (UniqueConstraint("dedup_key", name="uq_postback_dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    txid: Mapped[str] = mapped_column(String(128), index=True)
    # "<source>:<txid>" on the first row of a txid, NULL on its duplicates: the unique constraint is
    # what makes a txid refund once, even when two copies arrive at the same instant.
    dedup_key: Mapped[str | None] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    cid: Mapped[str | None] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str | None] = mapped_column(String(64))
    charge_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # As received: the postback's amount; for charge.refunded, Stripe's running total amount_refunded.
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), index=True)
    outcome: Mapped[str] = mapped_column(Text, default="")
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", name="fk_postback_order_id_orders"), index=True
    )
    refunded: Mapped[Decimal | None] = mapped_column(Money)  # what processing refunded
    credit_slip_id: Mapped[int | None] = mapped_column(
        ForeignKey("credit_slip.id", name="fk_postback_credit_slip_id_credit_slip")
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order | None] = relationship()
    credit_slip: Mapped[CreditSlip | None] = relationship()


class PostbackConfig(db.Model):
    """The shop's postback token and Stripe webhook secret (one row); both secrets, never shown in full."""

    __tablename__ = "postback_config"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    token_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stripe_webhook_secret: Mapped[str | None] = mapped_column(String(255))
