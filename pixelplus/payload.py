"""The Refund event builder: one element of Meta's ``data`` array, exactly as it will be sent.

Fields (DOMAIN.md §2): a custom event named ``Refund``; ``event_time`` = when the status changed;
a stable ``event_id``; ``action_source`` ``website`` with the order's captured browser data, else
``system_generated``; ``user_data`` normalized and hashed by Meta's rules (``pixelplus.hashing``), the
browser identifiers raw; ``custom_data`` with a positive value and the refunded lines.

Hashed identifiers are sent as one-element arrays, as the facebook-business SDK and Meta's examples
do; the browser identifiers (client_ip_address, client_user_agent, fbp, fbc) as plain strings.
Keys are always in the same order and amounts are exact JSON numbers (``event_json``).
"""

from datetime import datetime

from pixelplus.amounts import REFUND_EVENT, Refund
from pixelplus.graph import dumps
from pixelplus.hashing import hash_field
from pixelplus.settings import RefundSettings
from shop.models import Order

BROWSER_IDENTIFIERS = ("client_ip_address", "client_user_agent", "fbp", "fbc")


def new_event_id(order: Order, earlier_refunds: int) -> str:
    """Return the event id of the order's next Refund: ``refund-<reference>-<n>``.

    n counts the order's Refund events, so each refund of an order has its own id, and a retry
    re-sends the stored payload with the same id. The order's reference (9 random letters) rather
    than its id keeps the ids of two shops, or of a shop whose database was re-created, apart on
    the same pixel, where Meta would otherwise drop a real refund as a duplicate.
    """
    return f"refund-{order.reference}-{earlier_refunds + 1}"


def user_data(order: Order) -> dict:
    """Return the customer's identifiers, hashed by Meta's rules, then the raw browser identifiers."""
    customer = order.customer
    country = customer.country
    data: dict = {}
    for key, value in (
        ("em", customer.email),
        ("ph", customer.phone),
        ("fn", customer.firstname),
        ("ln", customer.lastname),
        ("ct", customer.city),
        ("st", customer.state),
        ("zp", customer.postcode),
        ("country", customer.country),
        ("external_id", str(customer.id) if customer.id is not None else None),
    ):
        digest = hash_field(key, value, country)
        if digest:
            data[key] = [digest]
    for key in BROWSER_IDENTIFIERS:
        value = getattr(order, key)
        if value:
            data[key] = value
    return data


def custom_data(order: Order, refund: Refund, settings: RefundSettings) -> dict:
    """Return the refund's value, currency and lines."""

    def content_id(line) -> str:
        return line.product_reference if settings.content_id_source == "reference" else str(line.product_id)

    return {
        "value": refund.value,
        "currency": refund.currency,
        "content_type": "product",
        "content_ids": [content_id(line) for line in refund.lines],
        "contents": [
            {"id": content_id(line), "quantity": line.quantity, "item_price": line.item_price} for line in refund.lines
        ],
        "num_items": refund.num_items,
        "order_id": str(order.id),
        "order_reference": order.reference,
    }


def build_refund_event(order: Order, refund: Refund, settings: RefundSettings, at: datetime, event_id: str) -> dict:
    """Return the Refund event for order, dated at (the change), ready for Meta's ``data`` array."""
    if refund.value <= 0:
        raise ValueError("a Refund event reports a positive value")
    event: dict = {
        "event_name": REFUND_EVENT,
        "event_time": int(at.timestamp()),
        "event_id": event_id,
    }
    if order.has_browser_data:
        event["action_source"] = "website"
        event["event_source_url"] = order.event_source_url
    else:
        event["action_source"] = "system_generated"
    event["user_data"] = user_data(order)
    event["custom_data"] = custom_data(order, refund, settings)
    return event


def event_json(event: dict) -> str:
    """Serialize an event for the outbox: stable key order, amounts as exact JSON numbers."""
    return dumps(event)
