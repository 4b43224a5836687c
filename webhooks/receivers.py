"""The webhook module's receivers: a decision per endpoint for every status change and credit slip.

Checks, in order: an endpoint is enabled and takes `transaction.refunded` → the new state is a trigger
(webhooks.settings) → the order was paid before the change (unless the merchant says otherwise) → money
left to report to THAT endpoint (full: what is
left of the order; partial: the credit slips not yet reported, per refunding/). Each firing decision
records one outbox row per endpoint holding the exact body; its event id is the webhook-id of every attempt.
"""

from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app

from core.dbtypes import utcnow
from delivery import reported
from delivery.models import PENDING, OutboxEvent
from extensions import db
from modulekit import decisions
from modulekit.decisions import Verdict, fire, skip
from refunding import credit_slip_refund, left_to_report, was_paid_before
from shop import batch
from shop.signals import credit_slip_issued, demo_data_created, order_status_changed
from webhooks import endpoints, payload
from webhooks.endpoints import REFUNDED
from webhooks.models import WebhookEndpoint
from webhooks.sender import DESTINATION
from webhooks.settings import load_settings

LABEL = "Webhooks"


def connect() -> None:
    """Connect the module's receivers."""
    order_status_changed.connect(on_order_status_changed)
    credit_slip_issued.connect(on_credit_slip_issued)
    demo_data_created.connect(on_demo_data_created)


def _listening() -> list[WebhookEndpoint]:
    every = batch.cached("webhooks.endpoints", endpoints.endpoints)  # read once per bulk batch
    return [e for e in every if e.enabled and REFUNDED in (e.event_types or [])]


def on_order_status_changed(order, old_state=None, new_state=None, at=None, **extra) -> None:
    """Decide, per endpoint, whether a status change sends transaction.refunded, and record it."""
    at = at or utcnow()
    facts = decisions.status_facts(order, old_state, new_state, at)
    _decide_each(order, facts, lambda endpoint: decide_status(order, new_state, at, endpoint, extra))


def on_credit_slip_issued(order, credit_slip=None, at=None, **extra) -> None:
    """Decide, per endpoint, whether a credit slip sends transaction.refunded, and record it."""
    at = at or utcnow()
    facts = {"order_id": order.id, "trigger": "credit_slip", "credit_slip_id": credit_slip.id, "at": at}
    _decide_each(order, facts, lambda endpoint: decide_credit_slip(order, credit_slip, at, endpoint, extra))


def _decide_each(order, facts: dict, decide) -> None:
    """Record one decision per listening endpoint, or one skip when none listens."""
    listening = _listening()
    if not listening:
        decisions.record(
            DESTINATION, facts, lambda: skip("no enabled webhook endpoint takes transaction.refunded"), LABEL
        )
        return
    for endpoint in listening:
        decisions.record(DESTINATION, facts, lambda endpoint=endpoint: decide(endpoint), LABEL)


def decide_status(order, new_state, at: datetime, endpoint: WebhookEndpoint, extra: dict) -> Verdict:
    """Return the decision for endpoint when order reaches new_state at `at`."""
    settings = load_settings()
    if new_state is None or new_state.id not in settings.trigger_state_ids:
        return skip(f"state {getattr(new_state, 'name', '—')} is not a refund trigger")
    if settings.paid_only and not was_paid_before(order, at):
        return skip("order was never paid before this change: nothing was refunded")
    kind = settings.kind_of(new_state)
    refund = left_to_report(order, kind, payload.VALUE_SETTINGS, _reported(endpoint, order.id))
    return _fire_or_skip(order, refund, at, endpoint, extra, f"state {new_state.name} ({kind} refund)")


def decide_credit_slip(order, slip, at: datetime, endpoint: WebhookEndpoint, extra: dict) -> Verdict:
    """Return the decision for endpoint when a credit slip is issued for order."""
    if not was_paid_before(order, at):
        return skip("order was never paid: a credit slip of an unpaid order refunds nothing")
    refund = credit_slip_refund(order, slip, payload.VALUE_SETTINGS, _reported(endpoint, order.id))
    return _fire_or_skip(order, refund, at, endpoint, extra, f"credit slip #{slip.id}")


def _fire_or_skip(order, refund, at: datetime, endpoint: WebhookEndpoint, extra: dict, what: str) -> Verdict:
    if refund.nothing_left:
        start = "nothing left to report" if refund.already_reported > 0 else "nothing to report"
        return skip(f"endpoint #{endpoint.id}: {start}: {refund.arithmetic}")
    count = len(reported.rows_of(DESTINATION, order.id, target=str(endpoint.id))) + 1
    event_id = f"evt_{order.reference}_{endpoint.id}_{count}"
    account = current_app.config.get("WEBHOOKS_ACCOUNT_ID") or "acct_shop"
    event = payload.refund_event(
        order, refund, event_id, f"ref_{order.reference}_{count}", at, extra.get("reason"), extra.get("note"), account
    )
    row = OutboxEvent(
        destination=DESTINATION,
        target=str(endpoint.id),
        order_id=order.id,
        order_reference=order.reference,
        event_name=REFUNDED,
        event_id=event_id,
        value=refund.value,
        currency=refund.currency,
        payload_json=payload.event_json(event),
        status=PENDING,
        next_attempt_at=utcnow(),
    )
    reason = (
        f"{what}: sending {refund.value:.2f} {refund.currency} to endpoint #{endpoint.id} "
        f"({refund.arithmetic}); status {event['data']['status']}"
    )
    return fire(reason, row)


def _reported(endpoint: WebhookEndpoint, order_id: int) -> Decimal:
    """Return what this endpoint's events of the order reported, whatever their status."""
    return reported.reported(DESTINATION, order_id, target=str(endpoint.id))


def on_demo_data_created(app: Flask, **extra) -> None:
    """Register one endpoint at the embedded sandbox's receiver, and give the receiver its secret."""
    if not app.config.get("SANDBOX_ENABLED"):
        return
    from sandbox.webhooks.receiver import set_secret

    url = app.config["WEBHOOKS_DEMO_URL"]
    if any(endpoint.url == url for endpoint in endpoints.endpoints()):
        return
    created = endpoints.create({"url": url, "event_types": [REFUNDED], "enabled": True})
    set_secret(app.config["WEBHOOKS_DEMO_RECEIVER"], created.secret)
    db.session.commit()
