"""When to try again: a growing schedule of floors with jitter above them, until the window closes.

An event is retried after a transient failure for as long as its destination still accepts it (the
destination's delivery window), never for a fixed number of attempts. Each wait is at least its step's
floor (5 s, 30 s, 2 min, 10 min, 30 min, then hourly by default) plus up to half of it as jitter, so
workers never retry in lockstep and a wait is never zero; a destination's ``Retry-After`` (or its
throttling answer) lengthens the wait, never shortens it.
"""

import random
from collections.abc import Sequence
from datetime import datetime

DEFAULT_SCHEDULE = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)
JITTER = 0.5  # up to this fraction of the floor is added at random
MAX_RETRY_AFTER = 86400.0  # a destination asking for more than a day is not believed


def parse_schedule(value) -> tuple[float, ...] | None:
    """Return a schedule from configuration (a list, or a comma-separated string), or None if unset."""
    if value in (None, "", ()):
        return None
    if isinstance(value, int | float):
        value = [value]
    items = value.split(",") if isinstance(value, str) else list(value)
    schedule = tuple(float(item) for item in items)
    if not schedule or any(step <= 0 for step in schedule):
        raise ValueError("a retry schedule is a list of positive numbers of seconds")
    return schedule


def retry_wait(attempts: int, schedule: Sequence[float], retry_after: float | None = None, rand=random.random) -> float:
    """Return the seconds to wait after the attempts-th failed try: the step's floor plus jitter."""
    floor = schedule[min(max(attempts, 1), len(schedule)) - 1]
    wait = floor * (1 + JITTER * rand())
    if retry_after:
        wait = max(wait, min(float(retry_after), MAX_RETRY_AFTER))
    return wait


RETRYING = " — attempt "  # what separates a failure's reason from the retry it scheduled


def retrying_message(reason: str, attempts: int, next_at: datetime) -> str:
    """Say why the last try failed and when the next one is."""
    return f"{reason}{RETRYING}{attempts}, next try at {next_at:%Y-%m-%d %H:%M:%S} UTC"


def window_closed_message(window: datetime, attempts: int, last_error: str | None) -> str:
    """Say that an event failed because its delivery window closed, and what went wrong last."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    reason = (last_error or "").rpartition(RETRYING)[0] or last_error or "never answered"
    return f"window closed at {window:%Y-%m-%d %H:%M:%S} UTC after {tries}: {reason}"
