"""Refund reason and note on the back-office forms: status change, bulk change, credit slip; stored and shown."""

import pytest
from sqlalchemy import func, select

from extensions import db
from shop.models import CreditSlip, Order, OrderHistory, OrderLine, OrderState


def state_id(app, key: str) -> int:
    with app.app_context():
        return OrderState.by_key(key).id


def first_line(app, order_id: int) -> int:
    with app.app_context():
        return db.session.scalars(
            select(OrderLine.id).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
        ).first()


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return db.session.scalar(select(func.count(OrderHistory.id))), db.session.scalar(
            select(func.count(CreditSlip.id))
        )


def state_key(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(Order, order_id).current_state.key


def test_status_change_stores_reason_and_note_and_the_page_shows_them(app, client, auth, api, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    response = client.post(
        f"/admin/orders/{order_id}/status",
        data={"state_id": state_id(app, "PS_OS_REFUND"), "reason": "fraudulent", "note": "stolen card\nsee ticket 42"},
    )
    assert response.status_code == 302
    with app.app_context():
        last = db.session.scalars(
            select(OrderHistory).where(OrderHistory.order_id == order_id).order_by(OrderHistory.id)
        ).all()[-1]
        assert (last.reason, last.note) == ("fraudulent", "stolen card\nsee ticket 42")
    html = client.get(f"/admin/orders/{order_id}").get_data(as_text=True)
    history = html[html.index('id="history"') : html.index('id="module-panels"')]
    assert "Fraudulent order" in history and "stolen card\nsee ticket 42" in history
    # The API reads them back too.
    body = api.get(f"/api/orders/{order_id}").json
    assert body["history"][-1]["reason"] == "fraudulent" and body["history"][0]["reason"] is None


def test_a_change_without_reason_stores_null_and_shows_a_dash(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    client.post(f"/admin/orders/{order_id}/status", data={"state_id": state_id(app, "PS_OS_SHIPPING"), "note": "   "})
    with app.app_context():
        rows = db.session.scalars(select(OrderHistory).where(OrderHistory.order_id == order_id)).all()
        assert [(row.reason, row.note) for row in rows] == [(None, None), (None, None)]


HOSTILE = [
    ({"reason": "because"}, "reason", "Choose a reason from the list"),
    ({"note": "x" * 501}, "note", "at most 500 characters"),
    ({"note": "x" * 10_000}, "note", "at most 500 characters"),
    ({"note": "bell\x07here"}, "note", "holds control characters"),
    ({"note": "esc\x1b[31m"}, "note", "holds control characters"),
    ({"note": "del\x7f"}, "note", "holds control characters"),
]


@pytest.mark.parametrize(("extra", "field", "message"), HOSTILE)
def test_hostile_reason_or_note_on_the_status_form_is_a_field_message_and_nothing_changes(
    app, client, auth, make_order, extra, field, message
):
    order_id = make_order("PS_OS_PAYMENT")
    before = counts(app)
    auth.login("admin")
    response = client.post(
        f"/admin/orders/{order_id}/status", data={"state_id": state_id(app, "PS_OS_REFUND"), **extra}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    status_card = html[html.index('id="status"') : html.index('id="lines"')]
    assert message in status_card and f'id="status-{field}"' in status_card and "is-invalid" in status_card
    assert counts(app) == before and state_key(app, order_id) == "PS_OS_PAYMENT"


@pytest.mark.parametrize(("extra", "field", "message"), HOSTILE)
def test_hostile_reason_or_note_on_the_refund_form_is_a_field_message_and_nothing_is_refunded(
    app, client, auth, make_order, extra, field, message
):
    order_id = make_order("PS_OS_PAYMENT")
    before = counts(app)
    auth.login("admin")
    line = first_line(app, order_id)
    response = client.post(f"/admin/orders/{order_id}/credit-slips", data={f"line_{line}": "1", **extra})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    refund_card = html[html.index('id="refund"') : html.index('id="credit-slips"')]
    assert message in refund_card and f'id="refund-{field}"' in refund_card
    assert counts(app) == before


def test_a_nul_in_the_note_is_refused_by_the_request_guard(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    before = counts(app)
    auth.login("admin")
    response = client.post(
        f"/admin/orders/{order_id}/status", data={"state_id": state_id(app, "PS_OS_REFUND"), "note": "a\x00b"}
    )
    assert response.status_code == 400 and counts(app) == before


def test_credit_slip_stores_reason_and_note_and_the_flash_names_each_module(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    line = first_line(app, order_id)
    response = client.post(
        f"/admin/orders/{order_id}/credit-slips",
        data={f"line_{line}": "1", "reason": "duplicate", "note": "ordered twice"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    with app.app_context():
        (slip,) = db.session.scalars(select(CreditSlip).where(CreditSlip.order_id == order_id)).all()
        assert (slip.reason, slip.note) == ("duplicate", "ordered twice")
        slip_id = slip.id
    # One T-shirt: 19.90 + 20 % tax = 23.88.
    assert f"Credit slip #{slip_id} issued: 23.88 EUR refunded" in html
    # The modules that decided about the slip say what they did, as after a status change.
    assert "Pixel Plus: nothing sent (module disabled)" in html
    assert "Webhooks: nothing sent (no enabled webhook endpoint takes transaction.refunded)" in html
    slips = html[html.index('id="credit-slips"') : html.index('id="history"')]
    assert "Duplicate order" in slips and "ordered twice" in slips


def test_bulk_change_carries_one_reason_and_note_to_every_order(app, client, auth, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(3)]
    refunded = state_id(app, "PS_OS_REFUND")
    auth.login("admin")
    confirm = client.post("/admin/orders/bulk-status", data={"order_ids": ids, "state_id": refunded})
    page = confirm.get_data(as_text=True)
    assert 'id="bulk-reason"' in page and 'id="bulk-note"' in page
    response = client.post(
        "/admin/orders/bulk-status/confirm",
        data={"order_ids": ",".join(map(str, ids)), "state_id": refunded, "reason": "chargeback", "note": "bank"},
    )
    assert response.status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(OrderHistory).where(OrderHistory.state_id == refunded)).all()
        assert sorted(row.order_id for row in rows) == sorted(ids)
        assert {(row.reason, row.note) for row in rows} == {("chargeback", "bank")}


def test_bulk_change_with_a_hostile_note_changes_nothing(app, client, auth, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(2)]
    before = counts(app)
    auth.login("admin")
    response = client.post(
        "/admin/orders/bulk-status/confirm",
        data={"order_ids": ",".join(map(str, ids)), "state_id": state_id(app, "PS_OS_REFUND"), "note": "\x1b" * 600},
        follow_redirects=True,
    )
    assert "Note: The note" in response.get_data(as_text=True)
    assert counts(app) == before


def test_the_credit_slip_flash_names_the_event_a_module_queued_and_the_payload_carries_the_reason(
    app, client, auth, make_order
):
    from delivery.models import OutboxEvent
    from webhooks import endpoints

    with app.app_context():
        endpoints.create({"url": "https://hooks.example.com/refunds", "event_types": ["transaction.refunded"]})
        db.session.commit()
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    line = first_line(app, order_id)
    response = client.post(
        f"/admin/orders/{order_id}/credit-slips",
        data={f"line_{line}": "1", "reason": "other", "note": "damaged in transit"},
        follow_redirects=True,
    )
    assert "Webhooks: transaction.refunded 23.88 EUR queued" in response.get_data(as_text=True)
    with app.app_context():
        (event,) = db.session.scalars(select(OutboxEvent).where(OutboxEvent.destination == "webhook")).all()
        refund = event.payload["data"]["refund"]
        assert (refund["amount"], refund["reason"], refund["note"]) == (2388, "other", "damaged in transit")


def test_a_browsers_crlf_line_breaks_are_a_note_s_line_breaks_in_the_form_and_the_api(
    app, client, auth, api, make_order
):
    order_id, other = make_order("PS_OS_PAYMENT"), make_order("PS_OS_PAYMENT")
    auth.login("admin")
    client.post(
        f"/admin/orders/{order_id}/status",
        data={"state_id": state_id(app, "PS_OS_REFUND"), "note": "one\r\ntwo\rthree"},
    )
    response = api.post(
        f"/api/orders/{other}/status", {"state_id": state_id(app, "PS_OS_REFUND"), "note": "one\r\ntwo"}
    )
    assert response.status_code == 200
    with app.app_context():
        notes = db.session.scalars(
            select(OrderHistory.note).where(OrderHistory.note.is_not(None)).order_by(OrderHistory.order_id)
        ).all()
        assert notes == ["one\ntwo\nthree", "one\ntwo"]


def test_a_lone_surrogate_in_a_form_arrives_as_replacement_characters_never_a_500(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    body = f"state_id={state_id(app, 'PS_OS_REFUND')}&reason=other&note=%ED%A0%80x".encode()
    response = client.post(
        f"/admin/orders/{order_id}/status", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (302, 400, 422)
    with app.app_context():
        notes = db.session.scalars(select(OrderHistory.note).where(OrderHistory.order_id == order_id)).all()
        assert all(note is None or not any(0xD800 <= ord(c) <= 0xDFFF for c in note) for note in notes)


def test_the_bulk_api_takes_one_reason_and_note_and_refuses_a_bad_one_whole(app, api, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(2)]
    refunded = state_id(app, "PS_OS_REFUND")
    bad = api.post("/api/orders/bulk-status", {"order_ids": ids, "state_id": refunded, "reason": "because"})
    assert bad.status_code == 422 and "reason" in bad.json["error"]["fields"]
    assert {state_key(app, i) for i in ids} == {"PS_OS_PAYMENT"}
    body = {"order_ids": ids, "state_id": refunded, "reason": "duplicate", "note": "double checkout"}
    assert api.post("/api/orders/bulk-status", body).json["changed"] == ids
    with app.app_context():
        rows = db.session.scalars(select(OrderHistory).where(OrderHistory.state_id == refunded)).all()
        assert {(row.reason, row.note) for row in rows} == {("duplicate", "double checkout")} and len(rows) == 2
