"""The period and grouping a report is asked for, read from query arguments and checked.

Dates are whole UTC days, both ends included: ``from=2026-11-01&to=2026-11-30``. Without them the last
30 days up to today. A period is at most MAX_DAYS long, so no request can ask the database for every
row since the shop opened; anything else that is wrong is refused with the argument it concerns.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core.dbtypes import utcnow

GROUPINGS = ("day", "source", "campaign", "product")
DEFAULT_DAYS = 30
MAX_DAYS = 366
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only: \d also takes other scripts' digits


class PeriodError(ValueError):
    """A query argument that cannot be used, with the argument's name."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``first`` to ``last`` included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The first instant of the period (UTC)."""
        return datetime.combine(self.first, time.min, UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period (UTC), excluded."""
        return datetime.combine(self.last + timedelta(days=1), time.min, UTC)

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def parse_date(field: str, text: str | None) -> date | None:
    """Read a YYYY-MM-DD date, or None when empty; PeriodError when it is not a real date."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) != 10 or not _ISO_DATE.fullmatch(text):
        raise PeriodError(field, "must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(field, f"{text} is not a date of the calendar") from None


def period_from(first_text: str | None, last_text: str | None, today: date | None = None) -> Period:
    """Return the period asked for (from/to), defaulting to the last DEFAULT_DAYS days."""
    today = today or utcnow().date()
    first = parse_date("from", first_text)
    last = parse_date("to", last_text)
    if last is None:
        last = max(today, first) if first else today
    if last == date.max:
        raise PeriodError("to", "must be before 9999-12-31")
    if first is None:
        first = date.fromordinal(max(last.toordinal() - (DEFAULT_DAYS - 1), 1))
    if first > last:
        raise PeriodError("to", "must be on or after from")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError("from", f"a period covers at most {MAX_DAYS} days")
    return Period(first, last)


def grouping_from(text: str | None) -> str:
    """Return the grouping asked for (day by default); PeriodError for an unknown one."""
    value = (text or "day").strip()
    if value not in GROUPINGS:
        raise PeriodError("group_by", f"must be one of {', '.join(GROUPINGS)}")
    return value


def flag_from(field: str, text: str | None) -> bool:
    """Read a yes/no argument (1/true/yes or 0/false/no; absent is no); PeriodError otherwise."""
    value = (text or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise PeriodError(field, "must be 1 or 0")


def bounded_int(field: str, text: str | None, default: int, low: int, high: int) -> int:
    """Read a whole number from low to high (default when absent); PeriodError naming the argument otherwise."""
    text = (text or "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > len(str(high)) or not low <= int(text) <= high:
        raise PeriodError(field, f"must be a whole number from {low} to {high}")
    return int(text)
