"""The Google Ads module's receivers: a decision for every status change, an adjustment when it fires.

Checks, in order: enabled → trigger → configured → paid before the change → within 54 days of the
purchase (Google refuses older adjustments) → not retracted already (nothing can follow a retraction)
→ money left to report. A full refund, or a partial one that leaves nothing, retracts the conversion;
a partial one restates it to the order's new total.
"""

from datetime import datetime

from flask import Flask

from core.dbtypes import utcnow
from delivery.models import PENDING, OutboxEvent
from extensions import db
from googleads import conversion_tag, payload
from googleads.settings import AdsSettings, load_settings, save_settings
from modulekit import decisions
from modulekit import settings as kit_settings
from modulekit.decisions import Verdict, fire, skip
from modulekit.settings import demo_trigger_state_ids
from refunding import FULL, left_to_report, order_value, was_paid_before
from shop.signals import demo_data_created, order_status_changed

DESTINATION = "google_ads"


def connect() -> None:
    """Connect the module's receivers."""
    order_status_changed.connect(on_order_status_changed)
    demo_data_created.connect(on_demo_data_created)


def _settings() -> AdsSettings:
    return kit_settings.in_transaction("googleads", load_settings)


def on_order_status_changed(order, old_state=None, new_state=None, at=None, **extra) -> None:
    """Decide whether a status change adjusts the order's conversion, and record the decision."""
    at = at or utcnow()
    if old_state is None:
        conversion_tag.on_order_placed(order, _settings())
    facts = decisions.status_facts(order, old_state, new_state, at)
    decisions.record(DESTINATION, facts, lambda: decide(order, new_state, at, _settings()), "Google Ads")


def decide(order, new_state, at: datetime, settings: AdsSettings, now: datetime | None = None) -> Verdict:
    """Return the decision for order reaching new_state at `at`."""
    now = now or utcnow()
    what = "the customer id, conversion action id or refresh token is"
    refused = decisions.gate(settings, new_state, was_paid_before(order, at), what)
    if refused:
        return refused
    age = now - order.created_at
    if age > payload.CONVERSION_WINDOW:
        return skip(
            f"the purchase was {age.days} days ago (on {order.created_at:%Y-%m-%d}): Google Ads accepts "
            "adjustments up to 54 days after the conversion"
        )
    earlier = decisions.events_of(DESTINATION, order.id)
    retraction = next((e for e in earlier if e.event_name == payload.EVENT_NAMES[payload.RETRACTION]), None)
    if retraction is not None:
        return skip(
            f"the conversion was already retracted (event {retraction.event_id}, {retraction.status}): "
            "Google Ads accepts nothing after a retraction"
        )
    kind = settings.trigger_kinds.get(new_state.id, FULL)
    reported = decisions.already_reported(DESTINATION, order.id)
    refund = left_to_report(order, kind, settings.value_settings, reported)
    if refund.nothing_left:
        start = "nothing left to report" if refund.already_reported > 0 else "nothing to report"
        return skip(f"{start}: {refund.arithmetic}")
    total = order_value(order, settings.value_settings)
    new_total = total - reported - refund.value
    adjustment_type = payload.RETRACTION if kind == FULL or new_total <= 0 else payload.RESTATEMENT
    previous = max((payload.parse_google_date_time(e.payload["adjustmentDateTime"]) for e in earlier), default=None)
    when = payload.adjustment_time(at, previous)
    row_payload = payload.adjustment(settings, order, adjustment_type, when, new_total)
    row = OutboxEvent(
        destination=DESTINATION,
        target=settings.customer_id,
        order_id=order.id,
        order_reference=order.reference,
        event_name=payload.EVENT_NAMES[adjustment_type],
        event_id=f"ads-{order.reference}-{len(earlier) + 1}",
        value=refund.value,
        currency=refund.currency,
        payload_json=payload.adjustment_json(row_payload),
        status=PENDING,
        next_attempt_at=now,
    )
    if adjustment_type == payload.RETRACTION:
        what_happens = f"RETRACTION of the conversion ({kind} refund of {refund.value:.2f} {refund.currency})"
    else:
        what_happens = (
            f"RESTATEMENT to the new total {new_total:.2f} {refund.currency} (order {total:.2f} − refunded "
            f"{reported + refund.value:.2f}; this refund {refund.value:.2f})"
        )
    moved = "" if when == at.replace(microsecond=0) else "; time set 1 s after the order's previous adjustment"
    return fire(
        f"state {new_state.name} is a refund trigger: {what_happens}; {refund.arithmetic}; at "
        f"{row_payload['adjustmentDateTime']}{moved}",
        row,
    )


def on_demo_data_created(app: Flask, **extra) -> None:
    """Enable the module against the embedded sandbox and tell the sandbox about the demo's purchases."""
    if not app.config.get("SANDBOX_ENABLED"):
        return
    save_settings(
        {
            "customer_id": app.config["DEMO_GOOGLEADS_CUSTOMER_ID"],
            "conversion_action_id": app.config["DEMO_GOOGLEADS_CONVERSION_ACTION_ID"],
            "oauth_refresh_token": app.config["DEMO_GOOGLEADS_TOKEN"],
            "base_url": app.config["GOOGLEADS_DEMO_BASE_URL"],
            "time_zone": "Europe/Paris",
            "trigger_state_ids": demo_trigger_state_ids(),
            "enabled": True,
        }
    )
    conversion_tag.register_demo_purchases(app, load_settings())
    db.session.commit()
