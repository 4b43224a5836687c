"""Store what the sandbox received and answered: accepted events (with Meta's dedup) and recent errors."""

import threading
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from extensions import db
from sandbox.graph_errors import GraphError
from sandbox.models import ErrorAnswer, ReceivedEvent

DEDUP_WINDOW = timedelta(hours=48)
ERRORS_KEPT = 200
# The dedup lookup and the insert must not interleave between two requests carrying the same event_id
# (a resend racing the request it replaces), or both would be kept; Meta keeps only one.
_accepting = threading.Lock()


def accept_events(pixel_id: str, events: list[dict], test_event_code: str | None, trace: str, now: datetime) -> int:
    """Store valid events, marking those Meta would discard as duplicates; return how many were received.

    Meta counts a duplicate in events_received and then discards it: same pixel, event_name and event_id
    as an event kept within the last 48 hours (or earlier in the same request). One lookup per request.
    """
    with _accepting:
        return _accept(pixel_id, events, test_event_code, trace, now)


def _accept(pixel_id: str, events: list[dict], test_event_code: str | None, trace: str, now: datetime) -> int:
    ids = {str(event["event_id"]) for event in events if event.get("event_id") not in (None, "")}
    kept: set[tuple[str, str]] = set()
    if ids:
        rows = db.session.execute(
            select(ReceivedEvent.event_name, ReceivedEvent.event_id).where(
                ReceivedEvent.pixel_id == pixel_id,
                ReceivedEvent.event_id.in_(ids),
                ReceivedEvent.received_at >= now - DEDUP_WINDOW,
                ReceivedEvent.deduplicated.is_(False),
            )
        )
        kept = {(name, event_id) for name, event_id in rows}
    rows = []
    for event in events:
        event_id = event.get("event_id")
        event_id = None if event_id in (None, "") else str(event_id)
        key = (event["event_name"], event_id)
        duplicate = event_id is not None and key in kept
        if event_id is not None:
            kept.add(key)
        rows.append(
            {
                "pixel_id": pixel_id,
                "received_at": now,
                "test_event_code": test_event_code,
                "event_name": event["event_name"],
                "event_id": event_id,
                "deduplicated": duplicate,
                "fbtrace_id": trace,
                "event": event,
            }
        )
    db.session.execute(insert(ReceivedEvent), rows)
    db.session.commit()
    return len(rows)


def record_error(
    error: GraphError,
    body: dict,
    pixel_id: str | None,
    test_event_code: str | None,
    trace: str,
    now: datetime,
    injected: bool = False,
) -> None:
    """Remember an error answer and its reason, keeping only the most recent ones."""
    db.session.rollback()
    db.session.add(
        ErrorAnswer(
            at=now,
            pixel_id=(pixel_id or "")[:64] or None,
            test_event_code=(test_event_code or "")[:100] or None,  # an anonymous caller's text, kept short
            http_status=error.status,
            code=error.code,
            error_subcode=error.error_subcode,
            reason=error.reason,
            injected=injected,
            fbtrace_id=trace,
            body=body,
        )
    )
    db.session.flush()
    oldest_kept = db.session.scalar(
        select(ErrorAnswer.id).order_by(ErrorAnswer.id.desc()).offset(ERRORS_KEPT - 1).limit(1)
    )
    if oldest_kept is not None:
        db.session.execute(delete(ErrorAnswer).where(ErrorAnswer.id < oldest_kept))
    db.session.commit()


def forget_everything() -> tuple[int, int]:
    """Delete every received event and error answer; return how many of each. Caller commits."""
    events = db.session.execute(delete(ReceivedEvent)).rowcount
    errors = db.session.execute(delete(ErrorAnswer)).rowcount
    return events, errors
