"""The Refund event as stored and sent: value per settings, refunded lines, user data, exact JSON (DOMAIN.md §2)."""

import hashlib
import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from core.dbtypes import utcnow
from pixelplus.models import FIRED, PENDING, SKIPPED
from sandbox.validation import first_error
from tests.pixelplus_support import (
    PIXEL_ID,
    add_state,
    change,
    configure,
    decisions,
    events,
    payload_of,
    slip,
    state_id,
)

# make_order's default order: 2 T-shirts (19.90 + 20 %) and 1 mug (9.50 + 20 %), shipping 7.00 + 20 %.
PRODUCTS_EXCL, PRODUCTS_INCL = Decimal("49.30"), Decimal("59.16")
SHIPPING_EXCL, SHIPPING_INCL = Decimal("7.00"), Decimal("8.40")
TSHIRT_INCL, TSHIRT_EXCL, MUG_INCL = Decimal("23.88"), Decimal("19.90"), Decimal("11.40")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def refund_payload(app, make_order, start="PS_OS_PAYMENT", **settings) -> dict:
    order_id = make_order(start)
    configure(app, **settings)
    change(app, order_id, "PS_OS_REFUND")
    [event] = events(app, order_id)
    return payload_of(event)


@pytest.mark.parametrize(
    ("tax_incl", "shipping_incl", "value"),
    [
        (True, True, PRODUCTS_INCL + SHIPPING_INCL),  # 67.56
        (True, False, PRODUCTS_INCL),  # 59.16
        (False, True, PRODUCTS_EXCL + SHIPPING_EXCL),  # 56.30
        (False, False, PRODUCTS_EXCL),  # 49.30
    ],
)
def test_value_of_a_full_refund_follows_tax_and_shipping_settings(app, make_order, tax_incl, shipping_incl, value):
    data = refund_payload(app, make_order, value_tax_incl=tax_incl, value_shipping_incl=shipping_incl)["custom_data"]
    assert data["value"] == value
    prices = [c["item_price"] for c in data["contents"]]
    assert prices == ([TSHIRT_INCL, MUG_INCL] if tax_incl else [TSHIRT_EXCL, Decimal("9.50")])


def test_full_refund_payload_is_the_documented_event(app, make_order, shop_data):
    at = utcnow().replace(microsecond=0)
    order_id = make_order("PS_OS_PAYMENT")
    configure(app, test_event_code="TEST123")
    change(app, order_id, "PS_OS_REFUND", at=at)
    [event] = events(app, order_id)
    payload = payload_of(event)
    tshirt, mug, _poster = shop_data["product_ids"]

    assert list(payload) == ["event_name", "event_time", "event_id", "action_source", "user_data", "custom_data"]
    assert payload["event_name"] == "Refund"
    assert payload["event_time"] == int(at.timestamp())
    assert payload["event_id"] == event.event_id == f"refund-{event.order_reference}-1"
    # The refund happens in the back office: no browser, whatever checkout captured (DOMAIN.md §2).
    assert payload["action_source"] == "system_generated"
    assert payload["custom_data"] == {
        "value": Decimal("67.56"),
        "currency": "EUR",
        "content_type": "product",
        "content_ids": [str(tshirt), str(mug)],
        "contents": [
            {"id": str(tshirt), "quantity": 2, "item_price": TSHIRT_INCL},
            {"id": str(mug), "quantity": 1, "item_price": MUG_INCL},
        ],
        "num_items": 3,
        "order_id": str(order_id),
        "order_reference": event.order_reference,
    }
    # The outbox row, as delivery reads it.
    assert (event.destination, event.target, event.event_name, event.status) == (
        "meta_capi",
        PIXEL_ID,
        "Refund",
        PENDING,
    )
    assert (event.value, event.currency, event.test_event_code) == (Decimal("67.56"), "EUR", "TEST123")
    assert event.next_attempt_at == at
    assert "access_token" not in event.payload_json


@pytest.mark.parametrize("source", ["system_generated", "other"])
def test_without_website_the_checkout_browser_is_left_out_but_fbp_and_fbc_stay(app, make_order, source):
    payload = refund_payload(app, make_order, action_source=source)
    assert payload["action_source"] == source
    assert "event_source_url" not in payload
    user = payload["user_data"]
    assert "client_ip_address" not in user and "client_user_agent" not in user
    assert (user["fbp"], user["fbc"]) == ("fb.1.1700000000000.1234567890", "fb.1.1700000000000.IwAR-test")
    assert user["em"] == [sha("jeanne.martin@example.fr")] and user["external_id"]


def test_user_data_is_hashed_and_browser_data_raw(app, make_order, shop_data):
    payload = refund_payload(app, make_order, action_source="website")
    assert (payload["action_source"], payload["event_source_url"]) == ("website", "https://shop.test/checkout")
    user = payload["user_data"]
    customer_id = shop_data["customer_ids"][0]  # Jeanne Martin, Saint-Étienne, FR, 06 12 34 56 78
    assert user == {
        "em": [sha("jeanne.martin@example.fr")],
        "ph": [sha("33612345678")],
        "fn": [sha("jeanne")],
        "ln": [sha("martin")],
        "ct": [sha("saintétienne")],
        "zp": [sha("42000")],
        "country": [sha("fr")],
        "external_id": [sha(str(customer_id))],
        "client_ip_address": "203.0.113.7",
        "client_user_agent": "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0",
        "fbp": "fb.1.1700000000000.1234567890",
        "fbc": "fb.1.1700000000000.IwAR-test",
    }  # no "st": the customer has no state


def test_us_customer_state_zip_and_phone(app, make_order):
    order_id = make_order("PS_OS_PAYMENT", customer_index=1)
    configure(app)
    change(app, order_id, "PS_OS_REFUND")
    user = payload_of(events(app, order_id)[0])["user_data"]
    assert user["em"] == ["62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"]
    assert user["country"] == ["79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"]
    assert user["ph"] == [sha("16505551212")]
    assert user["st"] == [sha("ca")]
    assert user["zp"] == [sha("94025")]
    assert user["ct"] == [sha("menlopark")]


def test_order_without_browser_data_is_system_generated_even_with_website(app, make_order):
    order_id = make_order("PS_OS_PAYMENT", browser=False)
    configure(app, action_source="website")
    change(app, order_id, "PS_OS_REFUND")
    payload = payload_of(events(app, order_id)[0])
    assert payload["action_source"] == "system_generated"
    assert "event_source_url" not in payload
    for key in ("client_ip_address", "client_user_agent", "fbp", "fbc"):
        assert key not in payload["user_data"]
    assert payload["user_data"]["em"]


def test_content_ids_from_product_references(app, make_order):
    data = refund_payload(app, make_order, content_id_source="reference")["custom_data"]
    assert data["content_ids"] == ["TSHIRT-01", "MUG-01"]
    assert [c["id"] for c in data["contents"]] == ["TSHIRT-01", "MUG-01"]


def test_value_is_an_exact_json_number_and_keys_keep_their_order(app, make_order):
    order_id = make_order("PS_OS_PAYMENT", quantities=(1, 0, 1))  # 23.88 + 12.66 + 8.40
    configure(app)
    change(app, order_id, "PS_OS_REFUND")
    [event] = events(app, order_id)
    assert '"value": 44.94,' in event.payload_json
    assert '"item_price": 12.66}' in event.payload_json
    exact = json.loads(event.payload_json, parse_float=Decimal)["custom_data"]
    assert (exact["value"], exact["contents"][1]["item_price"]) == (Decimal("44.94"), Decimal("12.66"))
    assert list(exact) == [
        "value",
        "currency",
        "content_type",
        "content_ids",
        "contents",
        "num_items",
        "order_id",
        "order_reference",
    ]


def test_canceled_then_refunded_reports_the_money_once(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    change(app, order_id, "PS_OS_CANCELED")
    change(app, order_id, "PS_OS_REFUND")

    first, second = decisions(app, order_id)[-2:]
    assert first.outcome == FIRED
    assert (second.outcome, second.reason) == (
        SKIPPED,
        "nothing left to report: order total 67.56 EUR − 67.56 EUR already reported = 0.00 EUR; "
        "tax incl., shipping incl.",
    )
    assert [e.value for e in events(app, order_id)] == [Decimal("67.56")]


def test_failed_events_count_as_reported(app, make_order):
    """A failed event can be resent with its event id, so its money is not reported again."""
    from extensions import db
    from pixelplus.models import FAILED, OutboxEvent

    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    change(app, order_id, "PS_OS_CANCELED")
    with app.app_context():
        db.session.query(OutboxEvent).update({"status": FAILED})
        db.session.commit()
    change(app, order_id, "PS_OS_REFUND")
    assert decisions(app, order_id)[-1].reason.startswith(
        "nothing left to report: order total 67.56 EUR − 67.56 EUR already reported = 0.00 EUR"
    )


def test_partial_state_reports_the_slip_and_its_lines(app, make_order, shop_data):
    partially = add_state(app, "Partially refunded")
    order_id = make_order("PS_OS_PAYMENT")
    configure(app, trigger_state_ids=[partially])
    slip(app, order_id, {0: 1})  # one of the two T-shirts
    change(app, order_id, "Partially refunded")

    [event] = events(app, order_id)
    data = payload_of(event)["custom_data"]
    tshirt = str(shop_data["product_ids"][0])
    assert data["value"] == TSHIRT_INCL == event.value
    assert data["content_ids"] == [tshirt]
    assert data["contents"] == [{"id": tshirt, "quantity": 1, "item_price": TSHIRT_INCL}]
    assert data["num_items"] == 1
    assert "(partial refund): reporting 23.88 EUR (credit slips #" in decisions(app, order_id)[-1].reason


@pytest.mark.parametrize(
    ("tax_incl", "shipping_incl", "value"),
    [
        (True, True, TSHIRT_INCL + SHIPPING_INCL),
        (True, False, TSHIRT_INCL),
        (False, True, TSHIRT_EXCL + SHIPPING_EXCL),
        (False, False, TSHIRT_EXCL),
    ],
)
def test_credit_slip_value_follows_tax_and_shipping_settings(app, make_order, tax_incl, shipping_incl, value):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app, value_tax_incl=tax_incl, value_shipping_incl=shipping_incl)
    slip(app, order_id, {0: 1}, shipping=True)
    configure(app, trigger_kinds={str(state_id(app, "PS_OS_REFUND")): "partial"})
    change(app, order_id, "PS_OS_REFUND")
    assert payload_of(events(app, order_id)[0])["custom_data"]["value"] == value


def test_two_slips_each_reported_by_its_own_refund_state(app, make_order, shop_data):
    """Earlier events cover the oldest slips: the second event carries the second slip's lines."""
    returned = add_state(app, "Returned")
    order_id = make_order("PS_OS_PAYMENT")
    refunded = state_id(app, "PS_OS_REFUND")
    kinds = {str(returned): "partial", str(refunded): "partial"}
    configure(app, trigger_state_ids=[refunded, returned], trigger_kinds=kinds)
    slip(app, order_id, {0: 2})  # both T-shirts: 47.76
    change(app, order_id, "Returned")
    slip(app, order_id, {1: 1})  # the mug: 11.40
    change(app, order_id, "PS_OS_REFUND")

    first, second = events(app, order_id)
    mug = str(shop_data["product_ids"][1])
    assert (first.value, second.value) == (Decimal("47.76"), MUG_INCL)
    assert (first.event_id[-2:], second.event_id[-2:]) == ("-1", "-2")
    assert payload_of(second)["custom_data"]["contents"] == [{"id": mug, "quantity": 1, "item_price": MUG_INCL}]
    assert "59.16 EUR − 47.76 EUR already reported = 11.40 EUR" in decisions(app, order_id)[-1].reason


def test_event_time_is_the_time_of_the_change(app, make_order):
    at = utcnow().replace(microsecond=0) - timedelta(hours=2, minutes=7)
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    change(app, order_id, "PS_OS_REFUND", at=at)
    assert payload_of(events(app, order_id)[0])["event_time"] == int(at.timestamp())


# A credit slip on its own (FCTP_REFUND_ON_CREDIT_SLIP): off by default, then the money is never reported twice.


def test_credit_slip_alone_does_not_fire_by_default(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    slip_id = slip(app, order_id, {0: 1})
    decision = decisions(app, order_id)[-1]
    assert (decision.trigger, decision.outcome, decision.credit_slip_id) == ("credit_slip", SKIPPED, slip_id)
    assert "refund on credit slip is off" in decision.reason
    assert events(app, order_id) == []


def test_credit_slip_fires_when_enabled_and_refunded_reports_only_the_rest(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app, refund_on_credit_slip=True)
    slip(app, order_id, {0: 1})  # 23.88
    decision = decisions(app, order_id)[-1]
    assert (decision.trigger, decision.outcome) == ("credit_slip", FIRED)
    [event] = events(app, order_id)
    assert payload_of(event)["custom_data"]["value"] == TSHIRT_INCL
    assert payload_of(event)["custom_data"]["num_items"] == 1

    slip(app, order_id, {1: 1})  # the mug: only it is new
    assert [e.value for e in events(app, order_id)] == [TSHIRT_INCL, MUG_INCL]

    change(app, order_id, "PS_OS_REFUND")  # full: the rest of the order, 67.56 − 23.88 − 11.40 = 32.28
    assert [e.value for e in events(app, order_id)] == [TSHIRT_INCL, MUG_INCL, Decimal("32.28")]
    assert "order total 67.56 EUR − 35.28 EUR already reported = 32.28 EUR" in decisions(app, order_id)[-1].reason


def test_credit_slip_after_a_full_refund_reports_nothing(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app, refund_on_credit_slip=True)
    change(app, order_id, "PS_OS_REFUND")  # the whole order: 67.56
    slip(app, order_id, {0: 2}, shipping=True)
    assert decisions(app, order_id)[-1].reason.startswith("nothing left to report: credit slip #")
    assert "capped at what is left of the order: order total 67.56 EUR − 67.56 EUR already reported = 0.00 EUR" in (
        decisions(app, order_id)[-1].reason
    )
    assert len(events(app, order_id)) == 1


@pytest.mark.parametrize(
    ("browser", "customer_index", "settings"),
    [
        (True, 0, {}),
        (True, 0, {"action_source": "website"}),
        (True, 1, {"action_source": "other", "ldu": "us"}),
        (True, 0, {"ldu": "us_privacy_states"}),
        (False, 1, {"content_id_source": "reference", "value_tax_incl": False}),
    ],
)
def test_payloads_pass_the_sandboxs_meta_validation(app, make_order, browser, customer_index, settings):
    """The events we store are what Meta accepts (the sandbox emulates its rules: DOMAIN.md §3)."""
    order_id = make_order("PS_OS_PAYMENT", browser=browser, customer_index=customer_index)
    configure(app, **settings)
    change(app, order_id, "PS_OS_REFUND")
    event = json.loads(events(app, order_id)[0].payload_json)
    assert first_error([event], time.time()) is None
