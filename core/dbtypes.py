"""Column types: money as exact decimals, times as timezone-aware UTC."""

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


def money(value) -> Decimal:
    """Return value as a Decimal rounded half-up to the cent."""
    if isinstance(value, float):
        # Floats are refused upstream; str() keeps what a human typed, not the binary fraction.
        value = str(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Money(TypeDecorator):
    """A Decimal amount stored as integer cents, so every database keeps it exact."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int(money(value) * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime; naive values are refused rather than guessed."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must be timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
