"""The module's receivers: every status change (and credit slip) gets a decision, some an outbox event.

A receiver runs inside the shop's transaction and only *records*: a Decision row always, and when it
fires an OutboxEvent holding the exact payload, both committed (or rolled back) with the status change.
It never commits, never does network I/O, and never raises into the admin's request: the module's work
runs in a savepoint, so a failure rolls back only that work and leaves an ``error`` decision instead.
After recording an event it sends ``delivery.signals.outbox_event_recorded`` (sender: the OutboxEvent,
not yet committed) so delivery can wake its dispatcher once the transaction commits.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from flask import Flask
from sqlalchemy import select

from core.dbtypes import utcnow
from delivery import reported
from delivery.signals import outbox_event_recorded
from extensions import db
from modulekit.decisions import module_savepoint
from pixelplus import amounts, payload, rules
from pixelplus.models import ERROR, META_CAPI, PENDING, Decision, OutboxEvent
from pixelplus.settings import RefundSettings, default_trigger_state_ids, save_settings, settings_in_transaction
from refunding import Refund, was_paid_before
from shop import batch
from shop.models import CreditSlip, Order, OrderState
from shop.signals import credit_slip_issued, demo_data_created, order_status_changed

log = logging.getLogger(__name__)


def connect() -> None:
    """Connect every receiver of the module (blinker ignores a second connection of the same one)."""
    order_status_changed.connect(on_order_status_changed)
    credit_slip_issued.connect(on_credit_slip_issued)
    demo_data_created.connect(on_demo_data_created)


def on_order_status_changed(
    order: Order, old_state: OrderState | None = None, new_state: OrderState | None = None, at=None, **extra
) -> None:
    """Decide whether a status change fires a Refund event and record the decision."""
    at = at or utcnow()
    facts = {
        "order_id": order.id,
        "trigger": "status",
        "old_state_id": old_state.id if old_state else None,
        "new_state_id": new_state.id if new_state else None,
        "at": at,
    }

    def decide(settings: RefundSettings) -> rules.Verdict:
        return rules.decide_status_change(
            settings,
            new_state,
            paid_before=was_paid_before(order, at),
            at=at,
            refund=lambda: amounts.refund_for_status_change(
                order, new_state, settings, amounts.already_reported(order.id)
            ),
        )

    _record(order, at, facts, decide, extra.get("reason"))


def on_credit_slip_issued(order: Order, credit_slip: CreditSlip | None = None, at=None, **extra) -> None:
    """Decide whether a credit slip fires a Refund event on its own (FCTP_REFUND_ON_CREDIT_SLIP)."""
    at = at or utcnow()
    facts = {
        "order_id": order.id,
        "trigger": "credit_slip",
        "credit_slip_id": credit_slip.id,
        "at": at,
    }

    def decide(settings: RefundSettings) -> rules.Verdict:
        return rules.decide_credit_slip(
            settings,
            credit_slip,
            paid_before=was_paid_before(order, at),
            at=at,
            refund=lambda: amounts.refund_for_credit_slip(
                order, credit_slip, settings, amounts.already_reported(order.id)
            ),
        )

    _record(order, at, facts, decide, extra.get("reason"))


def _record(
    order: Order,
    at: datetime,
    facts: dict,
    decide: Callable[[RefundSettings], rules.Verdict],
    refund_reason: str | None = None,
) -> None:
    """Run the decision in a savepoint and record it; on any failure record an ``error`` decision."""
    event = None
    try:
        with module_savepoint():
            settings = settings_in_transaction()
            verdict = decide(settings)
            decision = Decision(destination=META_CAPI, **facts, outcome=verdict.outcome, reason=verdict.reason)
            if verdict.fired:
                event = _outbox_event(order, verdict.refund, settings, at, refund_reason)
                batch.add(event)
                decision.outbox_event = event
            batch.add(decision)
    except Exception as error:  # a broken module must not break the status change
        log.exception("Pixel Plus could not decide for order %s (%s)", facts["order_id"], facts["trigger"])
        _record_error(facts, error)
        return
    if event is not None:
        reported.note(event)
        try:
            outbox_event_recorded.send(event)
        except Exception:  # the row is recorded; the dispatcher's next pass picks it up anyway
            log.exception("a receiver of outbox-event-recorded failed for event %s", event.event_id)


def _outbox_event(
    order: Order, refund: Refund, settings: RefundSettings, at: datetime, refund_reason: str | None = None
) -> OutboxEvent:
    """Build the outbox row of a Refund event, its payload exactly as it will be sent."""
    event_id = payload.new_event_id(order, amounts.refund_count(order.id))
    event = payload.build_refund_event(order, refund, settings, at, event_id, refund_reason)
    return OutboxEvent(
        destination=META_CAPI,
        target=settings.pixel_id,
        order_id=order.id,
        order_reference=order.reference,
        event_name=amounts.REFUND_EVENT,
        event_id=event_id,
        value=refund.value,
        currency=refund.currency,
        # Only while test mode is on: an expired code must never turn a real refund into a test.
        test_event_code=settings.test_event_code_at(at) or None,
        payload_json=payload.event_json(event),
        status=PENDING,
        next_attempt_at=at,
    )


def _record_error(facts: dict, error: Exception) -> None:
    """Record an ``error`` decision saying what went wrong, in one short line."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    reason = f"error: {type(error).__name__}" + (f": {first_line}" if first_line else "")
    try:
        with module_savepoint():
            batch.add(Decision(destination=META_CAPI, **facts, outcome=ERROR, reason=reason[:500]))
    except Exception:
        log.exception("Pixel Plus could not record the error decision for order %s", facts["order_id"])


def on_demo_data_created(app: Flask, **extra) -> None:
    """Enable the module against the embedded sandbox for the demo shop (``flask shop init-demo``)."""
    triggers = list(default_trigger_state_ids())
    # The demo's own states, by name: Returned (a full refund) and Partially refunded (the slips).
    customs = db.session.scalars(select(OrderState.id).where(OrderState.name.in_(("Returned", "Partially refunded"))))
    triggers += sorted(customs)
    save_settings(
        {
            "pixel_id": app.config["DEMO_PIXEL_ID"],
            "access_token": app.config["DEMO_ACCESS_TOKEN"],
            "graph_url": app.config["PIXELPLUS_DEMO_GRAPH_URL"],
            "trigger_state_ids": triggers,
            "paid_only": True,
            "enabled": True,
        }
    )
    db.session.commit()
