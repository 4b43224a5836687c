"""The sent-events log's charts: events per hour or day by status, reported value per day by currency,
and one event's attempt timeline. Each returns a chart spec for static/js/charts.js (its data is also the
table beside the chart and the CSV export)."""

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.buckets import bucket_keys, bucket_name, bucket_start, floor, parse_key
from core.dbtypes import utcnow
from delivery.event_log import EventFilter
from delivery.models import FAILED, PENDING, SENT, OutboxEvent
from extensions import db

# How far back each granularity looks.
SPANS = {"hour": timedelta(hours=48), "day": timedelta(days=30)}
STATUS_COLORS = {SENT: "#009E73", PENDING: "#E69F00", FAILED: "#D55E00"}
OUTCOME_COLORS = {"sent": "#009E73", "transient": "#E69F00", "split": "#56B4E9", "permanent": "#D55E00"}
OTHER_OUTCOME_COLOR = "#CC79A7"


def events_by_status(filters: EventFilter, unit: str = "hour", now: datetime | None = None) -> dict:
    """Return events created per hour (48 h) or day (30 days), stacked by their status now."""
    now = now or utcnow()
    since = now - SPANS[unit] + _step(unit)
    keys = bucket_keys(since, now, unit)
    counts = {status: dict.fromkeys(keys, 0) for status in STATUS_COLORS}
    for start, status, count in db.session.execute(status_query(filters, unit, since)):
        key = bucket_name(start, unit)
        if status in counts and key in counts[status]:
            counts[status][key] = count
    return {
        "type": "bar",
        "stacked": True,
        "labels": [_label(key, unit) for key in keys],
        "x_title": f"{unit} (UTC)",
        "y_title": "events",
        "datasets": [
            {"label": status.capitalize(), "data": list(values.values()), "color": STATUS_COLORS[status]}
            for status, values in counts.items()
        ],
    }


def value_by_currency(filters: EventFilter, now: datetime | None = None) -> dict:
    """Return the value the destinations acknowledged per day (30 days), one line per currency.

    Test events are left out (they report nothing), and currencies are never added together.
    """
    now = now or utcnow()
    since = now - SPANS["day"] + _step("day")
    keys = bucket_keys(since, now, "day")
    per_currency: dict[str, dict[str, float]] = {}
    for start, currency, amount in db.session.execute(value_query(filters, since)):
        key = bucket_name(start, "day")
        if key in keys:
            # The sum keeps the Money type (a Decimal); the chart wants a number with two decimals.
            per_currency.setdefault(currency or "?", dict.fromkeys(keys, 0.0))[key] = float(amount or 0)
    return {
        "type": "line",
        "labels": [_label(key, "day") for key in keys],
        "x_title": "day (UTC)",
        "y_title": "value",
        "datasets": [
            {"label": currency, "data": list(values.values())} for currency, values in sorted(per_currency.items())
        ],
    }


def status_query(filters: EventFilter, unit: str, since: datetime):
    """Return the SQL counting the filtered events per bucket of unit and status, from since's bucket on.

    It reads created_at, status and the filters' columns: all of them in ix_outbox_activity, so the
    database scans that index from since on and never reads a row (a reference or order filter narrows
    the scan through its own index first). Over 48 hours or 30 days of a busy shop this is a few
    hundred thousand index entries, not the wide rows that hold the payloads.
    """
    when = bucket_start(OutboxEvent.created_at, unit, db.engine.dialect.name)
    return (
        select(when, OutboxEvent.status, func.count())
        .where(OutboxEvent.created_at >= floor(since, unit), *_conditions(filters))
        .group_by(when, OutboxEvent.status)
    )


def value_query(filters: EventFilter, since: datetime):
    """Return the SQL summing the acknowledged value of the filtered events per day and currency (index only)."""
    day = bucket_start(OutboxEvent.created_at, "day", db.engine.dialect.name)
    return (
        select(day, OutboxEvent.currency, func.sum(OutboxEvent.value))
        .where(
            OutboxEvent.created_at >= floor(since, "day"),
            *_likely(OutboxEvent.status == SENT, OutboxEvent.test_event_code.is_(None), OutboxEvent.value.is_not(None)),
            *_conditions(filters, with_status=False),
        )
        .group_by(day, OutboxEvent.currency)
    )


def _conditions(filters: EventFilter, with_status: bool = True) -> list:
    """Return the filter's conditions for a chart's scan of ix_outbox_activity.

    A reference or an order narrows the events through its own index, and dates are ranges of the scan
    itself: those stay as they are. Status, destination and test code hold most events of a window: they are
    checked on the index entries as the scan reads them, never used to pick another index (see _likely).
    """
    narrowing = replace(filters, status=None, destination=None, test_event_code=None).conditions()
    broad = EventFilter(
        status=filters.status if with_status else None,
        destination=filters.destination,
        test_event_code=filters.test_event_code,
    ).conditions()
    return narrowing + _likely(*broad)


def _likely(*conditions) -> list:
    """Mark conditions as true for most rows, so that SQLite's planner keeps to the created_at range.

    SQLite plans without statistics (nothing runs ANALYZE), so it takes any equality for a narrow one and
    would read a month of events through the status index (ix_outbox_due) and then their wide rows:
    likely() is its documented hint that a condition holds for most rows (it changes no result).
    PostgreSQL plans from the statistics it keeps, and has no such function.
    """
    if db.engine.dialect.name != "sqlite":
        return list(conditions)
    return [func.likely(condition) for condition in conditions]


def attempt_timeline(event: OutboxEvent) -> dict:
    """Return one event's attempts in order: each try's duration, coloured by its outcome."""
    attempts = list(event.attempt_rows)
    outcomes = list(dict.fromkeys(attempt.outcome for attempt in attempts))
    return {
        "type": "bar",
        "stacked": True,
        "min_bar": 3,  # a refusal that took 0 ms is still a visible try
        "labels": [f"#{number} {attempt.at:%H:%M:%S}" for number, attempt in enumerate(attempts, start=1)],
        "x_title": "attempt (UTC)",
        "y_title": "duration (ms)",
        "datasets": [
            {
                "label": outcome,
                "data": [attempt.duration_ms or 0 if attempt.outcome == outcome else None for attempt in attempts],
                "color": OUTCOME_COLORS.get(outcome, OTHER_OUTCOME_COLOR),
            }
            for outcome in outcomes
        ],
    }


def _step(unit: str) -> timedelta:
    return timedelta(hours=1) if unit == "hour" else timedelta(days=1)


def _label(key: str, unit: str) -> str:
    # "2026-11-29 11" → "29 Nov 11:00"; "2026-11-29" → "29 Nov"
    moment = parse_key(key, unit)
    return f"{moment.day} {moment:%b %H:%M}" if unit == "hour" else f"{moment.day} {moment:%b}"
