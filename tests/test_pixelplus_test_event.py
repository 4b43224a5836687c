"""The "Send test event" button: one Refund to the sandbox over real HTTP, the answer shown, nothing recorded."""

import pytest
from sqlalchemy import func, select

from extensions import db
from pixelplus.models import Decision, OutboxEvent
from pixelplus.settings import load_settings, save_settings
from pixelplus.test_event import build_test_event, sample_order
from shop.models import Order
from tests.pixelplus_support import TOKEN, configure, use_sandbox

SETTINGS_URL = "/admin/pixelplus/settings"
TEST_URL = "/admin/pixelplus/settings/test-event"


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(OutboxEvent)),
            db.session.scalar(select(func.count()).select_from(Decision)),
        )


def test_test_event_reaches_the_sandbox_and_records_nothing(app, live, client, auth, api, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    use_sandbox(app, live.url)  # no saved code: the code is given on the spot
    before = counts(app)
    auth.login("merchant")

    response = client.post(TEST_URL, data={"test_event_code": "TEST4242"}, follow_redirects=True)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Accepted." in page and "events_received: 1" in page and "fbtrace_id" in page
    assert app.config["DEMO_ACCESS_TOKEN"] not in page
    received = api.get("/sandbox/api/received?test_event_code=TEST4242", role="tester").get_json()
    assert len(received) == 1
    event = received[0]["event"]
    assert event["event_name"] == "Refund"
    assert event["event_id"].startswith("test-refund-")
    with app.app_context():
        reference = db.session.get(Order, order_id).reference
        assert db.session.get(Order, order_id).current_state.key == "PS_OS_PAYMENT"
    assert event["custom_data"]["order_reference"] == reference
    assert counts(app) == before  # no outbox row, no decision
    with app.app_context():
        assert load_settings().test_event_code == ""  # the code was used, not saved: no test mode


def test_the_form_is_prefilled_with_the_saved_code(app, client, auth):
    configure(app, test_event_code="TEST777")
    auth.login("merchant")
    page = client.get(SETTINGS_URL).get_data(as_text=True)
    assert 'name="test_event_code"' in page and 'value="TEST777"' in page


def test_api_sends_a_test_event_with_the_given_code(app, live, api, make_order):
    make_order("PS_OS_PAYMENT")
    use_sandbox(app, live.url)
    answer = api.post("/api/pixelplus/test-event", {"test_event_code": "APITEST1"}, role="merchant")
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["ok"], body["events_received"], body["test_event_code"]) == (True, 1, "APITEST1")
    received = api.get("/sandbox/api/received?test_event_code=APITEST1", role="tester").get_json()
    assert [r["event"]["event_id"] for r in received] == [body["event_id"]]
    with app.app_context():
        assert load_settings().test_event_code == ""


@pytest.mark.parametrize("code", [None, "", "TEST 1!", "\ud800", "x" * 65, 2**64, ["TEST1"]])
def test_api_refuses_a_bad_test_event_code_and_sends_nothing(app, live, api, code):
    use_sandbox(app, live.url)
    answer = api.post("/api/pixelplus/test-event", {"test_event_code": code}, role="merchant")
    assert answer.status_code == 422
    assert "test_event_code" in answer.get_json()["error"]["fields"]
    assert api.get("/sandbox/api/received", role="tester").get_json() == []


def test_sandbox_refusal_is_shown_with_metas_message(app, live, client, auth, make_order):
    make_order("PS_OS_PAYMENT")
    use_sandbox(app, live.url, test_event_code="TEST4242")
    with app.app_context():
        save_settings({"access_token": TOKEN})  # a token the sandbox does not know
        db.session.commit()
    auth.login("merchant")
    page = client.post(TEST_URL, data={"test_event_code": "TEST4242"}, follow_redirects=True).get_data(as_text=True)
    assert "Refused." in page and "code 190" in page
    assert TOKEN not in page


def test_test_event_needs_a_test_event_code(app, client, auth):
    configure(app)
    auth.login("merchant")
    page = client.post(TEST_URL, data={"test_event_code": ""}, follow_redirects=True).get_data(as_text=True)
    assert "The test event was not sent: Enter a test event code." in page


def test_tester_may_not_send_a_test_event(client, auth):
    auth.login("tester")
    assert client.post(TEST_URL).status_code == 403


def test_sample_order_without_orders_is_not_saved(app):
    configure(app, test_event_code="TEST1")
    with app.app_context():
        order = sample_order()
        event = build_test_event(load_settings(), order)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert event["custom_data"]["order_reference"] == "TESTORDER"
    assert event["custom_data"]["value"] > 0
    assert event["action_source"] == "system_generated"
