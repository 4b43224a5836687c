"""The "Send test event" button: one Refund for a sample order, sent now, with a test event code given on the spot.

It shows Meta's (or the sandbox's) answer and changes nothing: no outbox row, no decision, the order
untouched, and the code is *not* saved (a saved code is test mode: it would turn real refunds into
test events). It refuses to send without a code, because without one Meta counts the event as a real
refund of the pixel (Events Manager only shows coded events under "Test events").
"""

from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from core.dbtypes import utcnow
from delivery.dispatcher import make_client
from extensions import db
from pixelplus import amounts, payload
from pixelplus.graph import GraphClient
from pixelplus.settings import TEST_EVENT_CODE_PATTERN, RefundSettings
from refunding import FULL, left_to_report
from shop.models import Customer, Order, OrderLine


class CannotSendTestEvent(ValueError):
    """The test event cannot be sent; the message says what to set first."""


@dataclass(frozen=True)
class SentTestEvent:
    """What the test event was and what the Graph API answered (never the token)."""

    ok: bool
    test_event_code: str
    order_reference: str
    event_id: str
    value: str
    http_status: int | None
    events_received: int | None
    fbtrace_id: str | None
    error_message: str | None
    error_code: int | None
    error_subcode: int | None
    duration_ms: int | None

    def as_dict(self) -> dict:
        """Return the result as a plain dict (for the session and the JSON API)."""
        return dict(self.__dict__)


def sample_order() -> Order:
    """Return the most recent order, or an unsaved sample order when the shop has none."""
    order = db.session.scalar(select(Order).order_by(Order.id.desc()).limit(1))
    if order is not None:
        return order
    # Transient objects, never added to the session: the test must not write anything.
    customer = Customer(
        id=0,
        email="test.customer@example.com",
        firstname="Test",
        lastname="Customer",
        phone="+33 6 12 34 56 78",
        city="Paris",
        state="",
        postcode="75001",
        country="FR",
    )
    line = OrderLine(
        product_id=0,
        product_reference="SAMPLE-01",
        product_name="Sample product",
        quantity=1,
        unit_price_tax_excl=Decimal("10.00"),
        unit_price_tax_incl=Decimal("12.00"),
    )
    return Order(
        id=0,
        reference="TESTORDER",
        customer=customer,
        currency="EUR",
        total_products_tax_excl=Decimal("10.00"),
        total_products_tax_incl=Decimal("12.00"),
        total_shipping_tax_excl=Decimal("0.00"),
        total_shipping_tax_incl=Decimal("0.00"),
        total_discounts_tax_excl=Decimal("0.00"),
        total_discounts_tax_incl=Decimal("0.00"),
        lines=[line],
    )


def build_test_event(settings: RefundSettings, order: Order) -> dict:
    """Return a Refund event for the whole order, dated now, with a one-off event id."""
    at = utcnow()
    refund = left_to_report(order, FULL, settings.value_settings, amounts.ZERO)
    # A one-off id, so Meta's deduplication never hides a second test of the same order.
    event_id = f"test-refund-{order.reference}-{int(at.timestamp() * 1000)}"
    return payload.build_refund_event(order, refund, settings, at, event_id)


def send_test_event(settings: RefundSettings, test_event_code: str, client=None) -> SentTestEvent:
    """Send one test Refund event synchronously with test_event_code (not saved) and return the answer."""
    test_event_code = (test_event_code or "").strip() if isinstance(test_event_code, str) else ""
    if not test_event_code:
        raise CannotSendTestEvent(
            "Enter a test event code (Events Manager → Test events), so the test is not counted as a real refund."
        )
    if not TEST_EVENT_CODE_PATTERN.fullmatch(test_event_code):
        raise CannotSendTestEvent(
            "A test event code is letters and digits, e.g. TEST12345 (Events Manager → Test events)."
        )
    if not settings.configured:
        raise CannotSendTestEvent("Set the pixel id and the access token first.")
    order = sample_order()
    event = build_test_event(settings, order)
    reference = order.reference
    # Reading the sample order must leave nothing behind, and no transaction open during the request.
    db.session.rollback()
    graph = client or GraphClient(http=make_client(current_app))
    try:
        answer = graph.post_events(
            settings.graph_url,
            settings.api_version,
            settings.pixel_id,
            settings.access_token,
            [event],
            test_event_code,
        )
    finally:
        if client is None:
            graph.close()
    return SentTestEvent(
        ok=answer.ok,
        test_event_code=test_event_code,
        order_reference=reference,
        event_id=event["event_id"],
        value=f"{event['custom_data']['value']} {event['custom_data']['currency']}",
        http_status=answer.http_status,
        events_received=answer.events_received,
        fbtrace_id=answer.fbtrace_id,
        error_message=answer.error_message,
        error_code=answer.error_code,
        error_subcode=answer.error_subcode,
        duration_ms=answer.duration_ms,
    )
