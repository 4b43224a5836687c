"""The Refund event builder: one element of Meta's ``data`` array, exactly as it will be sent.

Fields (DOMAIN.md §2): a custom event named ``Refund``; ``event_time`` = when the status changed;
a stable ``event_id``; ``action_source`` from the settings (``system_generated`` by default: the refund
happens in the back office, with no browser); ``user_data`` normalized and hashed by Meta's rules
(``pixelplus.hashing``) with the checkout's fbp and fbc raw, and the checkout's IP address and user agent
(and ``event_source_url``) only with ``website``, since Meta defines them as the browser of *the event*;
``custom_data`` with a positive value and the refunded lines; Limited Data Use per the settings.

Hashed identifiers are sent as one-element arrays, as the facebook-business SDK and Meta's examples
do; the browser identifiers (client_ip_address, client_user_agent, fbp, fbc) as plain strings.
Keys are always in the same order and amounts are exact JSON numbers (``event_json``).
"""

from datetime import datetime

from pixelplus.amounts import REFUND_EVENT
from pixelplus.graph import dumps
from pixelplus.hashing import hash_field
from pixelplus.settings import RefundSettings
from refunding import Refund
from shop import batch
from shop.models import Order

# Identifiers of the customer's browser, sent with any action source (raw, never hashed).
CLICK_IDENTIFIERS = ("fbp", "fbc")
# The checkout browser's own details: only with "website", where the event is that browser's.
BROWSER_DETAILS = ("client_ip_address", "client_user_agent")
BROWSER_IDENTIFIERS = BROWSER_DETAILS + CLICK_IDENTIFIERS
# Meta's codes for Limited Data Use: country 1 = United States, state 1000 = California; 0 and 0 ask
# Meta to find the person's location itself ("Data Processing Options for US Users").
LDU_GEOLOCATED = {"data_processing_options": ["LDU"], "data_processing_options_country": 0}
LDU_US = 1
LDU_STATE_CODES = {"CA": 1000}
_DIGESTS = "pixelplus.user_data digests"


def new_event_id(order: Order, earlier_refunds: int) -> str:
    """Return the event id of the order's next Refund: ``refund-<reference>-<n>``.

    n counts the order's Refund events, so each refund of an order has its own id, and a retry
    re-sends the stored payload with the same id. The order's reference (9 random letters) rather
    than its id keeps the ids of two shops, or of a shop whose database was re-created, apart on
    the same pixel, where Meta would otherwise drop a real refund as a duplicate.
    """
    return f"refund-{order.reference}-{earlier_refunds + 1}"


def user_data(order: Order, website: bool = True) -> dict:
    """Return the customer's identifiers hashed by Meta's rules, fbp and fbc raw, and with website the browser."""
    customer = order.customer
    country = customer.country
    fields = (
        ("em", customer.email),
        ("ph", customer.phone),
        ("fn", customer.firstname),
        ("ln", customer.lastname),
        ("ct", customer.city),
        ("st", customer.state),
        ("zp", customer.postcode),
        ("country", country),
        ("external_id", str(customer.id) if customer.id is not None else None),
    )
    # A bulk change hashes a customer's fields once per batch, not once per order (the same values
    # give the same digests; phone parsing is the dearest part of an order's event).
    digests = batch.cached(_DIGESTS, dict)
    if fields not in digests:  # the country, which the phone and zip code depend on, is one of the fields
        digests[fields] = [(name, digest) for name, value in fields if (digest := hash_field(name, value, country))]
    data: dict = {name: [digest] for name, digest in digests[fields]}
    for key in BROWSER_IDENTIFIERS if website else CLICK_IDENTIFIERS:
        value = getattr(order, key)
        if value:
            data[key] = value
    return data


def action_source(order: Order, settings: RefundSettings) -> str:
    """Return the event's action_source: the setting, but website only for an order checkout saw in a browser.

    Meta requires event_source_url and client_user_agent with website; an order placed without a
    browser (the API, the phone) has neither, so it goes out as system_generated.
    """
    if settings.action_source == "website" and not order.has_browser_data:
        return "system_generated"
    return settings.action_source


def data_processing_options(order: Order, ldu: str) -> dict:
    """Return the Limited Data Use keys for the setting: nothing when off (Meta's default, no LDU)."""
    if ldu == "us_privacy_states":
        return {**LDU_GEOLOCATED, "data_processing_options_state": 0}
    if ldu == "us" and (order.customer.country or "").upper() == "US":
        state = LDU_STATE_CODES.get((order.customer.state or "").strip().upper(), 0)
        return {**LDU_GEOLOCATED, "data_processing_options_country": LDU_US, "data_processing_options_state": state}
    return {}


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


def build_refund_event(
    order: Order, refund: Refund, settings: RefundSettings, at: datetime, event_id: str, reason: str | None = None
) -> dict:
    """Return the Refund event for order, dated at (the change), ready for Meta's ``data`` array.

    The refund's reason, when given, rides as the custom property ``custom_data.refund_reason`` (custom
    conversions and audiences can filter on it); the free-text note never goes to Meta (it may name a person).
    """
    if refund.value <= 0:
        raise ValueError("a Refund event reports a positive value")
    event: dict = {
        "event_name": REFUND_EVENT,
        "event_time": int(at.timestamp()),
        "event_id": event_id,
    }
    source = action_source(order, settings)
    event["action_source"] = source
    if source == "website":
        event["event_source_url"] = order.event_source_url
    event["user_data"] = user_data(order, website=source == "website")
    event["custom_data"] = custom_data(order, refund, settings)
    if reason:
        event["custom_data"]["refund_reason"] = reason
    event.update(data_processing_options(order, settings.ldu))
    return event


def event_json(event: dict) -> str:
    """Serialize an event for the outbox: stable key order, amounts as exact JSON numbers."""
    return dumps(event)
