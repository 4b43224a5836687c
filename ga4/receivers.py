"""The GA4 module's receivers: a decision for every status change, an outbox row with the refund event.

Checks, in order: enabled → trigger → configured → paid before the change → money left to report
(full: what is left of the order; partial: the credit slips not yet reported, per refunding/).
"""

from datetime import datetime

from flask import Flask

from core.dbtypes import utcnow
from delivery.models import PENDING, OutboxEvent
from ga4 import payload
from ga4.settings import Ga4Settings, load_settings, save_settings
from modulekit import decisions
from modulekit import settings as kit_settings
from modulekit.decisions import Verdict, fire, skip
from modulekit.settings import demo_trigger_state_ids
from refunding import left_to_report, was_paid_before
from shop.signals import demo_data_created, order_status_changed

DESTINATION = "ga4"


def connect() -> None:
    """Connect the module's receivers."""
    order_status_changed.connect(on_order_status_changed)
    demo_data_created.connect(on_demo_data_created)


def _settings() -> Ga4Settings:
    return kit_settings.in_transaction("ga4", load_settings)


def on_order_status_changed(order, old_state=None, new_state=None, at=None, **extra) -> None:
    """Decide whether a status change sends a GA4 refund event, and record the decision."""
    at = at or utcnow()
    facts = decisions.status_facts(order, old_state, new_state, at)
    why = extra.get("reason")
    decisions.record(DESTINATION, facts, lambda: decide(order, new_state, at, _settings(), refund_reason=why), "GA4")


def decide(
    order,
    new_state,
    at: datetime,
    settings: Ga4Settings,
    now: datetime | None = None,
    refund_reason: str | None = None,
) -> Verdict:
    """Return the decision for order reaching new_state at `at`."""
    now = now or utcnow()
    refused = decisions.gate(settings, new_state, was_paid_before(order, at), "the measurement id or API secret is")
    if refused:
        return refused
    kind = settings.trigger_kinds.get(new_state.id, "full")
    reported = decisions.already_reported(DESTINATION, order.id)
    refund = left_to_report(order, kind, settings.value_settings, reported)
    if refund.nothing_left:
        start = "nothing left to report" if refund.already_reported > 0 else "nothing to report"
        return skip(f"{start}: {refund.arithmetic}")
    client, from_cookie = payload.client_id(order)
    event = payload.refund_event(order, refund, settings, at, now, refund_reason)
    count = len(decisions.events_of(DESTINATION, order.id)) + 1
    row = OutboxEvent(
        destination=DESTINATION,
        target=f"{settings.measurement_id}|{client}",
        order_id=order.id,
        order_reference=order.reference,
        event_name=payload.EVENT_NAME,
        event_id=f"ga4-refund-{order.reference}-{count}",
        value=refund.value,
        currency=refund.currency,
        payload_json=payload.event_json(event),
        status=PENDING,
        next_attempt_at=now,
    )
    notes = [payload.timestamp_note(at, now)]
    if not from_cookie:
        notes.append("no _ga cookie was captured at checkout: client_id made from the order")
    items = "no items (full refund)" if "items" not in event["params"] else f"{len(event['params']['items'])} item(s)"
    reason = (
        f"state {new_state.name} is a refund trigger ({kind} refund): reporting {refund.value:.2f} "
        f"{refund.currency} ({refund.arithmetic}); {items}; {'; '.join(notes)}"
    )
    return fire(reason, row)


def on_demo_data_created(app: Flask, **extra) -> None:
    """Enable the module against the embedded sandbox for the demo shop."""
    if not app.config.get("SANDBOX_ENABLED"):
        return
    from extensions import db

    save_settings(
        {
            "measurement_id": "G-DEMO12345",
            "api_secret": "sandboxDemoApiSecret01",
            "base_url": app.config["GA4_DEMO_BASE_URL"],
            "trigger_state_ids": demo_trigger_state_ids(),
            "enabled": True,
        }
    )
    db.session.commit()
