"""Reconciliation end to end: real HTTP between the dispatcher and the embedded Meta sandbox, a refund the
sandbox refuses shows as a mismatch until it is resent; not eligible and out of window with their reasons;
roles, CSRF-protected POSTs with a confirmation, hostile arguments."""

import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from core.dbtypes import utcnow
from delivery.dispatcher import Dispatcher
from delivery.models import FAILED, PENDING, SENT, OutboxEvent
from extensions import db
from tests.conftest import PASSWORD
from tests.pixelplus_support import change, configure, state_id, use_sandbox


@pytest.fixture
def sandbox(app, live, api):
    """The module enabled against the sandbox served on a loopback port; its faults cleared after."""
    use_sandbox(app, live.url)
    yield live
    api.delete("/sandbox/api/faults", "tester")


def dispatch(app) -> None:
    """Deliver every event that is due, once, over HTTP."""
    with app.app_context():
        dispatcher = Dispatcher(app, worker="reports-test")
        dispatcher.run_once()
        dispatcher.close()


def statuses(app, order_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxEvent.status).where(OutboxEvent.order_id == order_id)))


def reconciliation(api, role="tester", **args) -> dict:
    query = "&".join(f"{key}={value}" for key, value in args.items())
    response = api.get(f"/api/reports/reconciliation?{query}", role)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def row_of(body: dict, order_id: int) -> dict | None:
    return next((row for row in body["orders"] if row["order_id"] == order_id), None)


def test_a_refund_the_destination_refused_is_a_mismatch_until_resent(app, api, auth, client, sandbox, make_order):
    order_id = make_order("PS_OS_PAYMENT")  # 67.56 EUR
    assert api.put("/sandbox/api/faults", {"error": "token"}, "tester").status_code == 200
    change(app, order_id, "PS_OS_REFUND")
    dispatch(app)
    assert statuses(app, order_id) == [FAILED]

    body = reconciliation(api, mismatches=1)
    row = row_of(body, order_id)
    assert row["refunded"] == "67.56" and row["mismatch"] is True
    meta = row["destinations"]["meta_capi"]
    assert (meta["acknowledged"], meta["failed"], meta["resendable"]) == ("0.00", "67.56", 1)
    assert body["totals"]["EUR"]["destinations"]["meta_capi"]["failed"] == "67.56"
    assert body["mismatches"] == 1

    api.delete("/sandbox/api/faults", "tester")
    auth.login("merchant")
    form = {"from": "", "to": "", "order_id": order_id, "destination": "meta_capi"}
    confirm = client.post("/admin/reports/reconciliation/send-missing", data=form)
    assert confirm.status_code == 200 and "Send 1 failed event again?" in confirm.get_data(as_text=True)
    assert statuses(app, order_id) == [FAILED]  # nothing happens before the confirmation
    done = client.post("/admin/reports/reconciliation/send-missing", data=form | {"confirm": "1"})
    assert done.status_code == 302
    assert statuses(app, order_id) == [PENDING]
    waiting = row_of(reconciliation(api), order_id)["destinations"]["meta_capi"]
    assert (waiting["waiting"], waiting["matches"]) == ("67.56", False)

    dispatch(app)
    assert statuses(app, order_id) == [SENT]
    row = row_of(reconciliation(api), order_id)
    assert row["destinations"]["meta_capi"]["acknowledged"] == "67.56"
    assert row["mismatch"] is False, row
    assert row_of(reconciliation(api, mismatches=1), order_id) is None
    received = api.get(f"/sandbox/api/received?pixel_id={app.config['DEMO_PIXEL_ID']}", "tester").get_json()
    assert [r["event"]["custom_data"]["value"] for r in received] == [67.56]


def test_a_slip_and_a_full_refund_both_acknowledged_match(app, api, sandbox, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        from shop.models import Order
        from shop.refunds import issue_credit_slip

        order = db.session.get(Order, order_id)
        issue_credit_slip(order, {order.lines[0].id: 1})  # 23.88, not reported by itself (no trigger)
        db.session.commit()
    change(app, order_id, "PS_OS_REFUND")  # reports 67.56 - 0 = 67.56 in one event
    dispatch(app)
    row = row_of(reconciliation(api), order_id)
    assert row["refunded"] == "67.56"
    assert row["destinations"]["meta_capi"]["acknowledged"] == "67.56" and row["mismatch"] is False


def test_not_eligible_carries_the_decision_reason(app, api, make_order):
    configure(app, trigger_state_ids=[state_id(app, "PS_OS_REFUND")])
    order_id = make_order("PS_OS_PAYMENT")
    change(app, order_id, "PS_OS_CANCELED")  # money given back, but Canceled is not a trigger here
    meta = row_of(reconciliation(api), order_id)["destinations"]["meta_capi"]
    assert (meta["not_eligible"], meta["reason"]) == ("67.56", "state Canceled is not a refund trigger")
    assert meta["resendable"] == 0


def test_only_enabled_destinations_are_reconciled(app, api, make_order):
    configure(app, enabled=False)
    order_id = make_order("PS_OS_PAYMENT")
    change(app, order_id, "PS_OS_REFUND")
    body = reconciliation(api)
    assert "meta_capi" not in body["destinations"] and "ga4" not in body["destinations"]
    row = row_of(body, order_id)
    assert row["refunded"] == "67.56" and row["destinations"] == {} and row["mismatch"] is False


def test_a_refund_older_than_the_window_is_out_of_window(app, api, make_order):
    configure(app)
    order_id = make_order("PS_OS_BANKWIRE")
    change(app, order_id, "PS_OS_PAYMENT", at=utcnow() - timedelta(days=12))
    change(app, order_id, "PS_OS_REFUND", at=utcnow() - timedelta(days=10))
    meta = row_of(reconciliation(api), order_id)["destinations"]["meta_capi"]
    assert meta["out_of_window"] == "67.56" and meta["not_eligible"] == "0.00"
    assert "older than 7 days" in meta["reason"]


def test_an_unpaid_cancellation_is_not_in_the_reconciliation(app, api, make_order):
    configure(app)
    order_id = make_order("PS_OS_BANKWIRE")
    change(app, order_id, "PS_OS_CANCELED")
    assert row_of(reconciliation(api), order_id) is None


def test_page_links_each_order_to_its_decisions_and_events(app, auth, client, make_order):
    configure(app, trigger_state_ids=[state_id(app, "PS_OS_REFUND")])
    order_id = make_order("PS_OS_PAYMENT")
    change(app, order_id, "PS_OS_CANCELED")
    auth.login("tester")
    html = client.get("/admin/reports/reconciliation?mismatches=1").get_data(as_text=True)
    assert f'data-order-id="{order_id}"' in html
    assert f"/admin/decisions?order_id={order_id}" in html and f"/admin/events?order_id={order_id}" in html
    assert "state Canceled is not a refund trigger" in html
    assert "send-all-missing" not in html  # a tester may not resend


def test_roles_on_the_reconciliation(api, auth, client):
    assert api.get("/api/reports/reconciliation", "merchant").status_code == 200
    assert api.get("/api/reports/reconciliation", "admin").status_code == 403
    auth.login("tester")
    assert client.post("/admin/reports/reconciliation/send-missing", data={}).status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.get("/admin/reports/reconciliation").status_code == 403


@pytest.mark.parametrize(
    "query, field",
    [
        ("mismatches=maybe", "mismatches"),
        ("mismatches=%ED%A0%80", "mismatches"),
        ("limit=0", "limit"),
        ("limit=" + str(2**63), "limit"),
        ("page=-1", "page"),
        ("from=9999-99-99", "from"),
    ],
)
def test_hostile_reconciliation_arguments(api, query, field):
    response = api.get(f"/api/reports/reconciliation?{query}", "tester")
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]


def test_send_missing_refuses_a_bad_destination_and_changes_nothing(app, auth, client, make_order):
    auth.login("merchant")
    response = client.post(
        "/admin/reports/reconciliation/send-missing", data={"destination": "nowhere", "confirm": "1"}
    )
    assert response.status_code == 302
    assert "is not an enabled destination" in client.get("/admin/reports/reconciliation").get_data(as_text=True)


def test_four_parallel_send_missing_clicks_queue_the_event_once(app, live, staff, make_order):
    configure(app)
    order_id = make_order("PS_OS_PAYMENT")
    change(app, order_id, "PS_OS_REFUND")
    with app.app_context():
        db.session.execute(update(OutboxEvent).where(OutboxEvent.order_id == order_id).values(status=FAILED))
        db.session.commit()
    sessions = []
    for _ in range(4):
        session = requests.Session()
        session.post(f"{live.url}/admin/login", data={"email": staff.email("merchant"), "password": PASSWORD})
        sessions.append(session)
    start = threading.Barrier(4)
    pages: list[str] = []
    form = {"from": "", "to": "", "order_id": str(order_id), "destination": "meta_capi", "confirm": "1"}

    def click(session) -> None:
        start.wait()
        page = session.post(f"{live.url}/admin/reports/reconciliation/send-missing", data=form, timeout=60)
        pages.append(page.text)

    threads = [threading.Thread(target=click, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert len(pages) == 4
    assert sum("1 event queued again." in page for page in pages) == 1
    with app.app_context():
        assert list(db.session.scalars(select(OutboxEvent.status).where(OutboxEvent.order_id == order_id))) == [PENDING]
