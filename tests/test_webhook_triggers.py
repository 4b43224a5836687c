"""Which status changes send transaction.refunded (the webhook trigger settings), and Chargeback as a default trigger.

An order of 2 T-shirts (23.88 each) and a mug (11.40) plus 8.40 shipping is 67.56 EUR = 6756 cents; a credit slip
for one T-shirt is 23.88 = 2388 cents.
"""

import json

import pytest
from sqlalchemy import select

from delivery.models import Decision, OutboxEvent
from extensions import db
from pixelplus.models import ModuleSetting
from shop.models import Order, OrderState
from shop.refunds import issue_credit_slip
from shop.states import chargeback_state
from shop.status import change_state
from webhooks import endpoints


@pytest.fixture
def endpoint(app):
    with app.app_context():
        created = endpoints.create(
            {"url": "https://hooks.example.com/refunds", "event_types": ["transaction.refunded"]}
        )
        db.session.commit()
        return created.endpoint.id


@pytest.fixture
def states(app):
    """Every state by key (or name), with the Chargeback state and a merchant's Partially refunded installed."""
    with app.app_context():
        chargeback_state()
        db.session.add(OrderState(name="Partially refunded", paid=False, logable=False, send_email=False))
        db.session.commit()
        return {s.key or s.name: s.id for s in db.session.scalars(select(OrderState))}


def move(app, order_id: int, state_id: int) -> None:
    with app.app_context():
        change_state(db.session.get(Order, order_id), db.session.get(OrderState, state_id))
        db.session.commit()


def webhook_rows(app, order_id: int) -> tuple[list[str], list[int]]:
    """The webhook decisions' reasons and the cents each queued event reports, for one order."""
    with app.app_context():
        decisions = db.session.scalars(
            select(Decision).where(Decision.destination == "webhook", Decision.order_id == order_id)
        ).all()
        events = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.destination == "webhook", OutboxEvent.order_id == order_id)
        ).all()
        return [d.reason for d in decisions], [e.payload["data"]["refund"]["amount"] for e in events]


def test_defaults_are_the_refund_states_as_before_plus_chargeback(api, states):
    body = api.get("/api/webhooks/settings", role="tester").json
    expected = [states[k] for k in ("PS_OS_CANCELED", "PS_OS_REFUND", "PB_OS_CHARGEBACK", "Partially refunded")]
    assert body["trigger_state_ids"] == sorted(expected)
    assert body["paid_only"] is True and "enabled" not in body
    assert body["trigger_kinds"][str(states["Partially refunded"])] == "partial"
    assert body["trigger_kinds"][str(states["PB_OS_CHARGEBACK"])] == "full"


def test_chargeback_is_a_default_trigger_of_every_module(app, states):
    from ga4.settings import load_settings as ga4_settings
    from googleads.settings import load_settings as ads_settings
    from pixelplus.settings import load_settings as meta_settings

    with app.app_context():
        for load in (meta_settings, ga4_settings, ads_settings):
            assert states["PB_OS_CHARGEBACK"] in load().trigger_state_ids, load.__module__


def test_a_chargeback_sends_the_whole_payment_by_default(app, endpoint, states, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    move(app, order_id, states["PB_OS_CHARGEBACK"])
    reasons, amounts = webhook_rows(app, order_id)
    assert amounts == [6756] and "state Chargeback (full refund)" in reasons[-1]


def test_a_state_taken_off_the_triggers_sends_nothing_and_says_why(app, api, endpoint, states, make_order):
    response = api.put("/api/webhooks/settings", {"trigger_state_ids": [states["PS_OS_REFUND"]]}, role="merchant")
    assert response.status_code == 200 and response.json["trigger_state_ids"] == [states["PS_OS_REFUND"]]
    order_id = make_order("PS_OS_PAYMENT")
    move(app, order_id, states["PS_OS_CANCELED"])
    reasons, amounts = webhook_rows(app, order_id)
    assert amounts == [] and reasons[-1] == "state Canceled is not a refund trigger"


def test_a_state_made_partial_reports_only_the_slips_not_yet_reported(app, api, endpoint, states, make_order):
    refunded = states["PS_OS_REFUND"]
    api.put("/api/webhooks/settings", {"trigger_kinds": {str(refunded): "partial"}}, role="merchant")
    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        order = db.session.get(Order, order_id)
        issue_credit_slip(order, {order.lines[0].id: 1})  # one T-shirt: 23.88, sent by the slip itself
        db.session.commit()
    move(app, order_id, refunded)
    reasons, amounts = webhook_rows(app, order_id)
    assert amounts == [2388]  # the slip was reported; a partial Refunded finds nothing new
    assert reasons[-1].startswith(f"endpoint #{endpoint}: nothing left to report")


def test_paid_only_off_sends_for_an_order_never_paid(app, api, endpoint, states, make_order):
    order_id = make_order("PS_OS_BANKWIRE")
    move(app, order_id, states["PS_OS_CANCELED"])
    assert webhook_rows(app, order_id)[1] == []
    api.put("/api/webhooks/settings", {"paid_only": False}, role="merchant")
    other = make_order("PS_OS_BANKWIRE")
    move(app, other, states["PS_OS_CANCELED"])
    assert webhook_rows(app, other)[1] == [6756]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trigger_state_ids": [2**63]}, "trigger_state_ids"),
        ({"trigger_state_ids": "1,2"}, "trigger_state_ids"),
        ({"trigger_kinds": {"\ud800": "full"}}, "trigger_kinds"),
        ({"trigger_kinds": {"7": "most"}}, "trigger_kinds"),
        ({"paid_only": "yes"}, "paid_only"),
        ({"enabled": True}, "enabled"),
    ],
)
def test_hostile_settings_are_422_per_field_and_store_nothing(app, api, states, body, field):
    response = api.put("/api/webhooks/settings", body, role="merchant")
    assert response.status_code == 422 and field in response.json["error"]["fields"]
    with app.app_context():
        assert db.session.scalars(select(ModuleSetting).where(ModuleSetting.name.like("WEBHOOKS_%"))).all() == []


def test_roles_and_the_settings_page(app, api, client, auth, states):
    assert api.put("/api/webhooks/settings", {"paid_only": False}, role="tester").status_code == 403
    auth.login("tester")
    page = client.get("/admin/webhooks/settings").get_data(as_text=True)
    assert "Webhook triggers" in page and "only a merchant can change them" in page
    auth.login("merchant")
    assert 'id="trigger-settings-link"' in client.get("/admin/webhooks").get_data(as_text=True)
    response = client.post(
        "/admin/webhooks/settings",
        data={"trigger_state_ids": [str(states["PS_OS_REFUND"])], f"kind_{states['PS_OS_REFUND']}": "full"},
    )
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.scalar(
            select(ModuleSetting.value).where(ModuleSetting.name == "WEBHOOKS_REFUND_TRIGGER_STATES")
        )
        assert json.loads(stored) == [states["PS_OS_REFUND"]]


def test_the_demo_chargeback_reaches_every_module(app):
    from postbacks.models import Postback

    result = app.test_cli_runner().invoke(args=["shop", "init-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        postback = db.session.scalar(select(Postback).where(Postback.txid == "DEMO-CB-1"))
        assert postback.outcome.endswith("order moved to Chargeback")
        rows = db.session.scalars(select(OutboxEvent).where(OutboxEvent.order_id == postback.order_id)).all()
        assert {row.destination for row in rows} == {"meta_capi", "ga4", "google_ads", "webhook"}
