"""Time buckets in SQL, the same on SQLite and PostgreSQL: a timestamp column cut to the minute, hour or day."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func

# strftime (SQLite) and to_char (PostgreSQL) patterns that give the same text, e.g. "2026-11-29 11:05".
_PATTERNS = {
    "minute": ("%Y-%m-%d %H:%M", "YYYY-MM-DD HH24:MI", timedelta(minutes=1)),
    "hour": ("%Y-%m-%d %H:00", "YYYY-MM-DD HH24:00", timedelta(hours=1)),
    "day": ("%Y-%m-%d", "YYYY-MM-DD", timedelta(days=1)),
}


def bucket(column, unit: str, dialect_name: str):
    """Return a SQL expression naming the bucket of column (stored as naive UTC), as text."""
    sqlite_pattern, postgres_pattern, _step = _PATTERNS[unit]
    if dialect_name == "sqlite":
        return func.strftime(sqlite_pattern, column)
    return func.to_char(column, postgres_pattern)


def bucket_keys(start: datetime, end: datetime, unit: str) -> list[str]:
    """Return the bucket names from start to end (both included), in order, so empty buckets show as zero."""
    sqlite_pattern, _postgres_pattern, step = _PATTERNS[unit]
    current = _floor(start.astimezone(UTC), unit)
    keys = []
    while current <= end:
        keys.append(current.strftime(sqlite_pattern))
        current += step
    return keys


def _floor(moment: datetime, unit: str) -> datetime:
    if unit == "minute":
        return moment.replace(second=0, microsecond=0)
    if unit == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)
