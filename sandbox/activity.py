"""What the sandbox received minute by minute (processed, deduplicated, error answers), for the live chart."""

from datetime import timedelta

from sqlalchemy import func, select

from core.buckets import bucket, bucket_keys
from core.dbtypes import utcnow
from extensions import db
from sandbox.models import ErrorAnswer, ReceivedEvent

MINUTES = 30
COLORS = {"processed": "#009E73", "deduplicated": "#E69F00", "errors": "#D55E00"}


def received_per_minute(pixel_id: str | None = None, test_event_code: str | None = None, now=None) -> dict:
    """Return the last MINUTES minutes as a chart spec (static/js/charts.js): stacked bars per minute."""
    now = now or utcnow()
    since = (now - timedelta(minutes=MINUTES - 1)).replace(second=0, microsecond=0)
    dialect = db.engine.dialect.name
    minute = bucket(ReceivedEvent.received_at, "minute", dialect)
    received = select(minute, ReceivedEvent.deduplicated, func.count()).where(ReceivedEvent.received_at >= since)
    error_minute = bucket(ErrorAnswer.at, "minute", dialect)
    errors = select(error_minute, func.count()).where(ErrorAnswer.at >= since)
    if pixel_id:
        received = received.where(ReceivedEvent.pixel_id == pixel_id)
        errors = errors.where(ErrorAnswer.pixel_id == pixel_id)
    if test_event_code:
        received = received.where(ReceivedEvent.test_event_code == test_event_code)
        errors = errors.where(ErrorAnswer.test_event_code == test_event_code)
    keys = bucket_keys(since, now, "minute")
    counts = {name: dict.fromkeys(keys, 0) for name in COLORS}
    for key, deduplicated, count in db.session.execute(received.group_by(minute, ReceivedEvent.deduplicated)):
        if key in counts["processed"]:
            counts["deduplicated" if deduplicated else "processed"][key] += count
    for key, count in db.session.execute(errors.group_by(error_minute)):
        if key in counts["errors"]:
            counts["errors"][key] += count
    return {
        "type": "bar",
        "stacked": True,
        "labels": [key[-5:] for key in keys],  # "2026-11-29 11:05" → "11:05" (UTC)
        "x_title": "minute (UTC)",
        "y_title": "count",
        "datasets": [
            {
                "label": name.capitalize() if name != "errors" else "Error answers",
                "data": list(values.values()),
                "color": COLORS[name],
            }
            for name, values in counts.items()
        ],
    }
