"""Pixel Plus tables: the module's settings. Decisions and the outbox belong to the delivery service."""

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

# The module's code reads these from here; the delivery service owns them.
from delivery.models import (  # noqa: F401
    ERROR,
    FAILED,
    FIRED,
    META_CAPI,
    PENDING,
    SENT,
    SKIPPED,
    Decision,
    DeliveryAttempt,
    OutboxEvent,
    attempt_event,
)
from extensions import db


class ModuleSetting(db.Model):
    """One stored setting of a module, by name (PrestaShop's Configuration table)."""

    __tablename__ = "module_setting"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[str | None] = mapped_column(Text)
