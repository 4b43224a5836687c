"""The receivers: decisions and outbox rows in the status change's transaction, never breaking the change."""

import pytest
import requests
from sqlalchemy import func, select

from delivery.signals import outbox_event_recorded
from extensions import db
from pixelplus import panel, payload
from pixelplus.models import ERROR, FIRED, Decision, ModuleSetting, OutboxEvent
from pixelplus.settings import load_settings
from shop.models import Order, OrderState
from shop.signals import demo_data_created
from shop.states import chargeback_state
from shop.status import change_state, change_states
from tests.pixelplus_support import add_state, change, configure, decisions, events, slip, state_id


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def current_state_key(app, order_id) -> str:
    with app.app_context():
        db.session.expire_all()
        return db.session.get(Order, order_id).current_state.key


def test_a_receiver_that_raises_leaves_the_status_change_committed(app, make_order, monkeypatch, caplog):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)

    def broken(*args, **kwargs):
        raise RuntimeError("payload builder exploded")

    monkeypatch.setattr(payload, "build_refund_event", broken)
    change(app, order_id, "PS_OS_REFUND")

    assert current_state_key(app, order_id) == "PS_OS_REFUND"
    decision = decisions(app, order_id)[-1]
    assert decision.outcome == ERROR
    assert decision.reason == "error: RuntimeError: payload builder exploded"
    assert decision.new_state_id == state_id(app, "PS_OS_REFUND")
    assert events(app, order_id) == []
    assert "payload builder exploded" in caplog.text  # logged with its traceback


def test_a_broken_receiver_does_not_break_the_admins_request(app, make_order, api, monkeypatch):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    monkeypatch.setattr(payload, "build_refund_event", lambda *a, **k: 1 / 0)

    response = api.post(f"/api/orders/{order_id}/status", {"state_id": state_id(app, "PS_OS_REFUND")}, role="admin")

    assert response.status_code == 200
    assert current_state_key(app, order_id) == "PS_OS_REFUND"
    assert decisions(app, order_id)[-1].reason.startswith("error: ZeroDivisionError")


def test_unreadable_settings_give_an_error_decision(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        db.session.add(ModuleSetting(name="FCTP_REFUND_STATUS", value="not json"))
        db.session.commit()
    change(app, order_id, "PS_OS_REFUND")
    assert current_state_key(app, order_id) == "PS_OS_REFUND"
    assert decisions(app, order_id)[-1].outcome == ERROR


def test_decision_and_outbox_row_share_the_status_change_transaction(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    decisions_before = count(app, Decision)
    with app.app_context():
        order = db.session.get(Order, order_id)
        change_state(order, OrderState.by_key("PS_OS_REFUND"))
        assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 1  # in the session
        db.session.rollback()  # the status change fails later on: everything goes

    assert current_state_key(app, order_id) == "PS_OS_PAYMENT"
    assert count(app, OutboxEvent) == 0
    assert count(app, Decision) == decisions_before


def test_outbox_event_recorded_is_sent_once_with_the_row(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    received = []

    def listener(event, **extra):
        received.append((event.event_id, event.id is not None))

    outbox_event_recorded.connect(listener)
    try:
        change(app, order_id, "PS_OS_SHIPPING")
        change(app, order_id, "PS_OS_REFUND")
    finally:
        outbox_event_recorded.disconnect(listener)
    [event] = events(app, order_id)
    assert received == [(event.event_id, True)]


def test_the_receiver_does_no_network_io(app, make_order, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the receiver must not touch the network")

    monkeypatch.setattr(requests.Session, "send", no_network)
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    change(app, order_id, "PS_OS_REFUND")
    assert decisions(app, order_id)[-1].outcome == FIRED


def test_bulk_change_decides_per_order(app, make_order):
    paid, unpaid = make_order("PS_OS_PAYMENT"), make_order("PS_OS_BANKWIRE")
    configure(app)
    with app.app_context():
        result = change_states([paid, unpaid], OrderState.by_key("PS_OS_CANCELED"))
        db.session.commit()
    assert result.changed == [paid, unpaid]
    assert decisions(app, paid)[-1].outcome == FIRED
    assert decisions(app, unpaid)[-1].reason == "order was never paid before this change (only paid orders)"
    assert count(app, OutboxEvent) == 1


def test_event_ids_are_unique_per_refund_of_an_order(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app, refund_on_credit_slip=True)

    slip(app, order_id, {0: 1})
    slip(app, order_id, {1: 1})
    ids = [e.event_id for e in events(app, order_id)]
    reference = events(app, order_id)[0].order_reference
    assert ids == [f"refund-{reference}-1", f"refund-{reference}-2"]


def test_demo_data_enables_the_module_against_the_sandbox(app):
    returned = add_state(app, "Returned")
    partially = add_state(app, "Partially refunded")
    with app.app_context():
        chargeback = chargeback_state().id  # init-demo adds the shop's Chargeback state before the modules set up
        db.session.commit()
        demo_data_created.send(app)
        db.session.expire_all()
        settings = load_settings()
    assert settings.enabled and settings.paid_only
    assert settings.pixel_id == app.config["DEMO_PIXEL_ID"]
    assert settings.access_token == app.config["DEMO_ACCESS_TOKEN"]
    assert settings.graph_url == app.config["PIXELPLUS_DEMO_GRAPH_URL"]
    assert set(settings.trigger_state_ids) == {
        state_id(app, "PS_OS_REFUND"),
        state_id(app, "PS_OS_CANCELED"),
        returned,
        partially,
        # A chargeback is a refund too: the bank gave the money back (a default trigger of every module).
        chargeback,
    }
    with app.app_context():
        assert settings.kind_of(db.session.get(OrderState, partially)) == "partial"


@pytest.fixture
def refunded_order(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    change(app, order_id, "PS_OS_SHIPPING")
    change(app, order_id, "PS_OS_REFUND")
    return order_id


def test_order_panel_lists_decisions_and_events(app, refunded_order):
    with app.test_request_context():
        html = panel.render(db.session.get(Order, refunded_order))
    [event] = events(app, refunded_order)
    assert event.event_id in html
    assert "67.56 EUR" in html
    assert "state Shipped is not a refund trigger" in html
    assert "state Refunded is a refund trigger (full refund): reporting 67.56 EUR (order total 67.56 EUR;" in html
    assert "Payment accepted → Shipped" in html
    assert "pending" in html


def test_order_page_shows_the_panel(client, auth, refunded_order, app):
    auth.login("admin")
    response = client.get(f"/admin/orders/{refunded_order}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-module="pixelplus"' in page
    assert events(app, refunded_order)[0].event_id in page
    assert "state Refunded is a refund trigger" in page
