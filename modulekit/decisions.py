"""Record a refund module's decision for a status change, and its outbox row when it fires.

Runs inside the shop's transaction and only *records*: the module's work runs in a savepoint, so a
failure rolls back only that work and leaves an ``error`` decision; it never commits, never does network
I/O and never raises into the admin's request. The shared gate runs the checks every refund module
asks in the same order: enabled → trigger → configured → paid before the change.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from delivery import reported
from delivery.models import ERROR, FIRED, SKIPPED, Decision, OutboxEvent
from delivery.signals import outbox_event_recorded
from extensions import db
from shop import batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """A decision: fired or skipped, why, and the outbox row when it fired."""

    outcome: str
    reason: str
    event: OutboxEvent | None = None


def skip(reason: str) -> Verdict:
    """A decision not to send, and why."""
    return Verdict(SKIPPED, reason)


def fire(reason: str, event: OutboxEvent) -> Verdict:
    """A decision to send event, and why."""
    return Verdict(FIRED, reason, event)


def gate(settings, new_state, paid_before: bool, what: str) -> Verdict | None:
    """Apply the checks every refund module shares; None when they all pass."""
    if not settings.enabled:
        return skip("module disabled")
    if new_state is None or new_state.id not in settings.trigger_state_ids:
        return skip(f"state {getattr(new_state, 'name', '—')} is not a refund trigger")
    if not settings.configured:
        return skip(f"module not configured: {what} missing")
    if settings.paid_only and not paid_before:
        return skip("order was never paid before this change (only paid orders)")
    return None


def already_reported(destination: str, order_id: int) -> Decimal:
    """Return what the destination's events of the order reported, whatever their status."""
    return reported.reported(destination, order_id)


def events_of(destination: str, order_id: int) -> list[OutboxEvent]:
    """Return the destination's outbox rows of the order, oldest first."""
    return reported.rows_of(destination, order_id)


@contextmanager
def module_savepoint() -> Iterator[None]:
    """Hold a module's rows in a savepoint of their own and flush them, except during a bulk batch.

    In a bulk batch the order's own savepoint and its one flush hold them (``shop.batch``); the rows
    are only added here.
    """
    if batch.running():
        yield
        return
    with db.session.begin_nested():
        yield
        db.session.flush()


def record(destination: str, facts: dict, decide: Callable[[], Verdict], label: str) -> Decision | None:
    """Run decide in a savepoint and record its decision (and outbox row); on failure an ``error`` decision."""
    event = None
    try:
        with module_savepoint():
            verdict = decide()
            decision = Decision(destination=destination, **facts, outcome=verdict.outcome, reason=verdict.reason[:2000])
            if verdict.event is not None:
                event = verdict.event
                batch.add(event)
                decision.outbox_event = event
            batch.add(decision)
    except Exception as error:  # a broken module must not break the status change
        log.exception("%s could not decide for order %s", label, facts.get("order_id"))
        first_line = (str(error).strip().splitlines() or [""])[0]
        reason = f"error: {type(error).__name__}" + (f": {first_line}" if first_line else "")
        try:
            with module_savepoint():
                batch.add(Decision(destination=destination, **facts, outcome=ERROR, reason=reason[:500]))
        except Exception:
            log.exception("%s could not record the error decision for order %s", label, facts.get("order_id"))
        return None
    if event is not None:
        reported.note(event)
        try:
            outbox_event_recorded.send(event)
        except Exception:  # the row is recorded; the dispatcher's next pass picks it up anyway
            log.exception("a receiver of outbox-event-recorded failed for event %s", event.event_id)
    return decision


def status_facts(order, old_state, new_state, at: datetime) -> dict:
    """The facts of a status-change decision."""
    return {
        "order_id": order.id,
        "trigger": "status",
        "old_state_id": old_state.id if old_state else None,
        "new_state_id": new_state.id if new_state else None,
        "at": at,
    }
