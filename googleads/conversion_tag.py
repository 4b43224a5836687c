"""The demo's stand-in for the Google Ads conversion tag: the embedded sandbox learns of every purchase.

Google Ads knows a conversion because the tag on the order-confirmation page told it (order id, value,
currency); an adjustment for an order it never heard of fails with CONVERSION_NOT_FOUND. The embedded
sandbox has no browser telling it, so while the module sends to the demo's own sandbox
(GOOGLEADS_DEMO_BASE_URL, with SANDBOX_ENABLED), each placed order is registered there as the tag would
have done, in the checkout's transaction; the demo's seeded orders too. Against any other base URL
(Google itself) nothing is written: the real tag does it.
"""

import logging

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from extensions import db
from googleads.settings import AdsSettings

log = logging.getLogger(__name__)


def sends_to_the_embedded_sandbox(app: Flask, settings: AdsSettings) -> bool:
    """Whether the module's settings point at the demo's embedded Google Ads sandbox, account included."""
    sandbox = app.config.get("GOOGLEADS_DEMO_BASE_URL")
    return bool(
        app.config.get("SANDBOX_ENABLED")
        and sandbox
        and (settings.base_url or "").rstrip("/") == sandbox.rstrip("/")
        and settings.customer_id
        and settings.conversion_action_id
    )


def conversion(order) -> dict:
    """Return what the tag reports of a purchase: order id (the reference), time, value, currency."""
    # Google keeps a conversion's time to the second (yyyy-mm-dd hh:mm:ss+hh:mm), as adjustments are sent.
    at = order.created_at.replace(microsecond=0)
    return {"order_id": order.reference, "at": at, "value": order.total_paid_tax_incl, "currency": order.currency}


def on_order_placed(order, settings: AdsSettings) -> None:
    """Register a just-placed order with the embedded sandbox, when the module sends there; never fails the checkout."""
    app = current_app._get_current_object()
    if not sends_to_the_embedded_sandbox(app, settings):
        return
    from sandbox.googleads.models import register_conversions

    try:
        with db.session.begin_nested():
            register_conversions(settings.customer_id, settings.conversion_action_id, [conversion(order)])
    except SQLAlchemyError:
        log.exception("order %s: the Google Ads sandbox could not record the conversion", order.reference)


def register_demo_purchases(app: Flask, settings: AdsSettings) -> None:
    """Register every order of the demo shop with the embedded sandbox (the purchases seeded before the module)."""
    if not sends_to_the_embedded_sandbox(app, settings):
        return
    from sandbox.googleads.models import register_conversions
    from shop.models import Order

    conversions = [conversion(order) for order in db.session.scalars(select(Order))]
    if conversions:
        register_conversions(settings.customer_id, settings.conversion_action_id, conversions)
