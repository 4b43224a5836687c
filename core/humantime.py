"""Human times for pages: "12 min ago" on screen, the exact UTC time on hover (the `when` filter)."""

from datetime import UTC, datetime

from markupsafe import Markup

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def as_utc(moment: datetime | int | float) -> datetime:
    """Return moment as an aware UTC datetime (naive datetimes are UTC; numbers are Unix seconds)."""
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(moment, UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def exact(moment: datetime) -> str:
    """Return ``2026-03-02 14:05:09 UTC``."""
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def human(moment: datetime, now: datetime | None = None) -> str:
    """Say when moment was (or will be) as a person would: ``just now``, ``5 min ago``, ``in 3 h``, ``2 Mar``."""
    moment = as_utc(moment)
    now = as_utc(now) if now is not None else datetime.now(UTC)
    seconds = (moment - now).total_seconds()
    future, distance = seconds > 0, abs(seconds)

    def relative(amount: int, unit: str) -> str:
        return f"in {amount} {unit}" if future else f"{amount} {unit} ago"

    if distance < 45:
        return "in a few seconds" if future else "just now"
    if distance < 3600:
        return relative(max(1, round(distance / 60)), "min")
    if distance < 86400:
        return relative(round(distance / 3600), "h")
    if distance < 7 * 86400 and not future:
        days = round(distance / 86400)
        return "yesterday" if days == 1 else f"{days} days ago"
    day = f"{moment.day} {MONTHS[moment.month - 1]}"
    if moment.year != now.year:
        return f"{day} {moment.year}"
    return f"{day}, {moment:%H:%M}"


def when(moment: datetime | int | float | None) -> Markup:
    """Render a ``<time>`` element: the human time, the exact UTC time in its title and datetime."""
    if moment is None or moment == "":
        return Markup("—")
    try:
        moment = as_utc(moment)
    except (OverflowError, OSError, ValueError, TypeError):
        return Markup("{}").format(moment)  # an out-of-range number (the sandbox shows what it got)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        moment.isoformat(timespec="seconds"), exact(moment), human(moment)
    )
