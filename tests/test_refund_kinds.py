"""Value by the kind of trigger (DOMAIN.md §2, corrected 2026-11-29): the sum reported equals what was refunded.

make_order's default order: 2 T-shirts at 23.88, 1 mug at 11.40, shipping 8.40 (tax incl.) = 67.56 EUR.
Every expected figure below is written from the rule, by hand.
"""

from decimal import Decimal

import pytest
from sqlalchemy import select

from extensions import db
from pixelplus.models import FIRED, SKIPPED, ModuleSetting
from pixelplus.settings import load_settings
from tests.pixelplus_support import add_state, change, configure, decisions, events, payload_of, slip, state_id


def reported(app, order_id) -> list[Decimal]:
    return [event.value for event in events(app, order_id)]


@pytest.fixture
def partially(app) -> int:
    """The merchant's "Partially refunded" state (partial by default, found by name)."""
    return add_state(app, "Partially refunded")


@pytest.fixture
def triggers(app, partially) -> list[int]:
    """Refunded, Canceled and Partially refunded fire."""
    ids = [state_id(app, "PS_OS_REFUND"), state_id(app, "PS_OS_CANCELED"), partially]
    configure(app, trigger_state_ids=ids)
    return ids


def test_slip_reported_by_a_partial_state_then_refunded_reports_the_rest(app, make_order, triggers, shop_data):
    order_id = make_order("PS_OS_SHIPPING")
    slip(app, order_id, {0: 1})  # one T-shirt: 23.88
    change(app, order_id, "Partially refunded")
    change(app, order_id, "PS_OS_REFUND")

    assert reported(app, order_id) == [Decimal("23.88"), Decimal("43.68")]  # 67.56 − 23.88 = 43.68
    assert sum(reported(app, order_id)) == Decimal("67.56")
    last = decisions(app, order_id)[-1]
    assert last.outcome == FIRED
    assert "order total 67.56 EUR − 23.88 EUR already reported = 43.68 EUR" in last.reason
    tshirt, mug, _ = (str(i) for i in shop_data["product_ids"])
    # What is left: the other T-shirt and the mug (the shipping is no line).
    assert payload_of(events(app, order_id)[-1])["custom_data"]["contents"] == [
        {"id": tshirt, "quantity": 1, "item_price": Decimal("23.88")},
        {"id": mug, "quantity": 1, "item_price": Decimal("11.40")},
    ]


def test_slip_not_reported_then_refunded_reports_the_whole_order(app, make_order, triggers):
    order_id = make_order("PS_OS_SHIPPING")
    slip(app, order_id, {0: 1})  # 23.88, no status change, credit-slip trigger off
    change(app, order_id, "PS_OS_REFUND")

    assert reported(app, order_id) == [Decimal("67.56")]
    assert "order total 67.56 EUR;" in decisions(app, order_id)[-1].reason


def test_slip_reported_by_the_credit_slip_trigger_then_refunded_reports_the_rest(app, make_order, triggers):
    order_id = make_order("PS_OS_SHIPPING")
    configure(app, refund_on_credit_slip=True)
    slip(app, order_id, {0: 1})
    change(app, order_id, "PS_OS_REFUND")
    assert reported(app, order_id) == [Decimal("23.88"), Decimal("43.68")]


def test_partial_then_partial_then_full(app, make_order, triggers):
    order_id = make_order("PS_OS_SHIPPING")
    slip(app, order_id, {0: 1})  # 23.88
    change(app, order_id, "Partially refunded")
    change(app, order_id, "PS_OS_SHIPPING")  # back, so the partial state can be set again
    slip(app, order_id, {1: 1})  # the mug: 11.40
    change(app, order_id, "Partially refunded")
    change(app, order_id, "PS_OS_REFUND")

    # 23.88, then the new slip only (35.28 − 23.88 = 11.40), then 67.56 − 35.28 = 32.28.
    assert reported(app, order_id) == [Decimal("23.88"), Decimal("11.40"), Decimal("32.28")]
    assert sum(reported(app, order_id)) == Decimal("67.56")
    second = [d for d in decisions(app, order_id) if d.outcome == FIRED][1]
    assert "35.28 EUR − 23.88 EUR already reported = 11.40 EUR" in second.reason


def test_full_twice_reports_the_money_once(app, make_order, triggers):
    order_id = make_order("PS_OS_SHIPPING")
    change(app, order_id, "PS_OS_REFUND")
    change(app, order_id, "PS_OS_SHIPPING")
    change(app, order_id, "PS_OS_REFUND")

    assert reported(app, order_id) == [Decimal("67.56")]
    last = decisions(app, order_id)[-1]
    assert last.outcome == SKIPPED
    assert last.reason.startswith("nothing left to report: order total 67.56 EUR − 67.56 EUR already reported")


def test_canceled_then_refunded_reports_the_money_once(app, make_order, triggers):
    order_id = make_order("PS_OS_PAYMENT")
    change(app, order_id, "PS_OS_CANCELED")
    change(app, order_id, "PS_OS_REFUND")
    assert reported(app, order_id) == [Decimal("67.56")]
    assert decisions(app, order_id)[-1].outcome == SKIPPED


def test_partial_state_without_a_slip_reports_nothing(app, make_order, triggers):
    order_id = make_order("PS_OS_SHIPPING")
    change(app, order_id, "Partially refunded")
    assert reported(app, order_id) == []
    assert decisions(app, order_id)[-1].reason.startswith("nothing to report: credit slips (none) 0.00 EUR")


def test_partial_after_full_reports_nothing_more(app, make_order, triggers):
    order_id = make_order("PS_OS_SHIPPING")
    change(app, order_id, "PS_OS_REFUND")
    change(app, order_id, "PS_OS_SHIPPING")
    slip(app, order_id, {0: 2}, shipping=True)  # 47.76 + 8.40 = 56.16, all within what was reported
    change(app, order_id, "Partially refunded")
    assert reported(app, order_id) == [Decimal("67.56")]
    assert decisions(app, order_id)[-1].reason.startswith("nothing left to report:")


def test_tax_excluded_shipping_excluded_full_after_partial(app, make_order, triggers):
    configure(app, value_tax_incl=False, value_shipping_incl=False)
    order_id = make_order("PS_OS_SHIPPING")
    slip(app, order_id, {0: 1})  # 19.90 tax excl.
    change(app, order_id, "Partially refunded")
    change(app, order_id, "PS_OS_REFUND")
    # Products tax excl. 2 × 19.90 + 9.50 = 49.30; 49.30 − 19.90 = 29.40.
    assert reported(app, order_id) == [Decimal("19.90"), Decimal("29.40")]


def test_a_state_chosen_as_partial_reports_only_the_slips(app, make_order, triggers):
    refunded = state_id(app, "PS_OS_REFUND")
    configure(app, trigger_kinds={str(refunded): "partial"})
    order_id = make_order("PS_OS_SHIPPING")
    slip(app, order_id, {1: 1})  # the mug: 11.40
    change(app, order_id, "PS_OS_REFUND")
    assert reported(app, order_id) == [Decimal("11.40")]
    assert "state Refunded is a refund trigger (partial refund)" in decisions(app, order_id)[-1].reason


def test_settings_saved_before_trigger_kinds_existed_keep_working_with_the_defaults(app, make_order, partially):
    configure(app, trigger_state_ids=[state_id(app, "PS_OS_REFUND"), partially])
    with app.app_context():
        assert db.session.scalar(select(ModuleSetting).filter_by(name="FCTP_REFUND_TRIGGER_KINDS")) is None
        settings = load_settings()
    assert settings.trigger_kinds == {}
    order_id = make_order("PS_OS_SHIPPING")
    slip(app, order_id, {0: 1})
    change(app, order_id, "Partially refunded")
    change(app, order_id, "PS_OS_REFUND")
    assert reported(app, order_id) == [Decimal("23.88"), Decimal("43.68")]


def test_default_kinds_are_found_by_key_and_name(app, api, partially):
    returned = add_state(app, "Returned")
    custom = add_state(app, "Refund to store credit")
    kinds = api.get("/api/pixelplus/settings", role="tester").get_json()["trigger_kinds"]
    assert kinds[str(state_id(app, "PS_OS_REFUND"))] == "full"
    assert kinds[str(state_id(app, "PS_OS_CANCELED"))] == "full"
    assert kinds[str(returned)] == "full"
    assert kinds[str(partially)] == "partial"
    assert kinds[str(custom)] == "full"


# The JSON API: trigger_kinds and the other new settings are checked per field; a refusal saves nothing.


def test_api_saves_trigger_kinds_and_reads_them_back(app, api, partially):
    refunded = state_id(app, "PS_OS_REFUND")
    answer = api.put("/api/pixelplus/settings", {"trigger_kinds": {str(refunded): "partial"}}, role="merchant")
    assert answer.status_code == 200
    assert answer.get_json()["trigger_kinds"][str(refunded)] == "partial"
    assert answer.get_json()["trigger_kinds"][str(partially)] == "partial"  # untouched default
    answer = api.put("/api/pixelplus/settings", {"trigger_kinds": {str(refunded): "full"}}, role="merchant")
    assert answer.get_json()["trigger_kinds"][str(refunded)] == "full"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"trigger_kinds": {"999": "full"}}, "trigger_kinds", "Unknown order state id: 999"),
        ({"trigger_kinds": {"7": "half"}}, "trigger_kinds", "choose full or partial, not 'half'"),
        ({"trigger_kinds": {"7": None}}, "trigger_kinds", "choose full or partial"),
        ({"trigger_kinds": {str(2**64): "full"}}, "trigger_kinds", "is not an order state id"),
        ({"trigger_kinds": {"9" * 18: "full"}}, "trigger_kinds", "Unknown order state id"),
        ({"trigger_kinds": {"-1": "full"}}, "trigger_kinds", "is not an order state id"),
        ({"trigger_kinds": {"\ud800": "full"}}, "trigger_kinds", "is not an order state id"),
        ({"trigger_kinds": {"\u0667": "full"}}, "trigger_kinds", "is not an order state id"),  # an Arabic 7
        ({"trigger_kinds": ["7", "full"]}, "trigger_kinds", "Give an object"),
        ({"trigger_kinds": {"7": 2**63}}, "trigger_kinds", "choose full or partial"),
        ({"action_source": "app"}, "action_source", "Choose system_generated, website or other"),
        ({"action_source": 1}, "action_source", "Must be text"),
        ({"ldu": "ca"}, "ldu", "Choose off, us_privacy_states or us"),
        ({"test_mode_minutes": 0}, "test_mode_minutes", "from 1 to 1440"),
        ({"test_mode_minutes": 2**63}, "test_mode_minutes", "from 1 to 1440"),
        ({"test_mode_minutes": "60"}, "test_mode_minutes", "from 1 to 1440"),
        ({"test_mode_minutes": True}, "test_mode_minutes", "from 1 to 1440"),
    ],
)
def test_api_refuses_bad_new_settings_per_field_and_saves_nothing(app, api, body, field, message):
    before = api.get("/api/pixelplus/settings", role="merchant").get_json()
    answer = api.put("/api/pixelplus/settings", body | {"pixel_id": "42"}, role="merchant")
    assert answer.status_code == 422
    fields = answer.get_json()["error"]["fields"]
    assert list(fields) == [field]
    assert message in fields[field]
    assert api.get("/api/pixelplus/settings", role="merchant").get_json() == before


def test_api_saves_action_source_ldu_and_test_mode_minutes(app, api):
    body = {"action_source": "website", "ldu": "us", "test_mode_minutes": 15}
    answer = api.put("/api/pixelplus/settings", body, role="merchant")
    assert answer.status_code == 200
    got = answer.get_json()
    assert (got["action_source"], got["ldu"], got["test_mode_minutes"]) == ("website", "us", 15)
    fresh = api.get("/api/pixelplus/settings", role="tester").get_json()
    assert (fresh["action_source"], fresh["ldu"], fresh["test_mode_minutes"]) == ("website", "us", 15)


def test_the_settings_form_refuses_a_bad_kind_and_saves_nothing(app, client, auth):
    refunded = state_id(app, "PS_OS_REFUND")
    auth.login("merchant")
    data = {"trigger_state_ids": [str(refunded)], "api_version": "v26.0", "graph_url": "https://graph.facebook.com"}
    data |= {"value_tax_incl": "1", "value_shipping_incl": "1", "content_id_source": "id"}
    response = client.post("/admin/pixelplus/settings", data=data | {f"kind_{refunded}": "<b>half</b>"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "choose full or partial, not &#39;&lt;b&gt;half&lt;/b&gt;&#39;" in page
    with app.app_context():
        assert load_settings().trigger_kinds == {}
    response = client.post("/admin/pixelplus/settings", data=data | {f"kind_{refunded}": "partial"})
    assert response.status_code == 302
    with app.app_context():
        assert load_settings().trigger_kinds[refunded] == "partial"


def test_parallel_refund_and_cancel_requests_report_the_money_once(app, live, staff, make_order):
    """Many admins at once: Refunded and Canceled race on the same orders; each order is reported once, in full."""
    import threading

    import requests

    orders = [make_order("PS_OS_PAYMENT") for _ in range(3)]
    configure(app)
    states = [state_id(app, "PS_OS_REFUND"), state_id(app, "PS_OS_CANCELED")]
    barrier = threading.Barrier(12)
    answers = []

    def post(order_id: int, state: int) -> None:
        barrier.wait(timeout=10)
        url = f"{live.url}/api/orders/{order_id}/status"
        answers.append(requests.post(url, json={"state_id": state}, headers=staff.headers("admin"), timeout=30))

    threads = [threading.Thread(target=post, args=(o, states[i % 2])) for o in orders for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert {answer.status_code for answer in answers} <= {200, 409}
    for order_id in orders:
        assert reported(app, order_id) == [Decimal("67.56")]
