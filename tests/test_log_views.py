"""The sent-events log, the event page, Resend, the exports, the decisions list and their JSON API."""

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.dbtypes import utcnow
from delivery.models import FAILED, PENDING, SENT, Decision, DeliveryAttempt, OutboxEvent, attempt_event
from extensions import db
from shop.models import Order, OrderState
from tests.conftest import GRAPH_VERSION
from tests.delivery_support import add_events


@pytest.fixture
def log_data(app, make_order):
    """An order with a sent, a failed and a pending event, attempts, and decisions."""
    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        order = db.session.get(Order, order_id)
        refund_state = OrderState.by_key("PS_OS_REFUND")
        sent_id, failed_id, pending_id = add_events(3)
        rows = {r.id: r for r in db.session.scalars(select(OutboxEvent))}
        for row in rows.values():
            row.order_id, row.order_reference = order.id, order.reference
        rows[sent_id].status, rows[sent_id].sent_at, rows[sent_id].attempts = SENT, utcnow(), 1
        rows[sent_id].response_json = json.dumps({"events_received": 1, "messages": [], "fbtrace_id": "TraceSent"})
        rows[failed_id].status, rows[failed_id].attempts = FAILED, 1
        rows[failed_id].last_error = "Invalid OAuth access token - Cannot parse access token (code 190, HTTP 400)"
        rows[failed_id].test_event_code = "TEST42"
        attempt = DeliveryAttempt(
            request_url=f"http://127.0.0.1:1/sandbox/graph/{GRAPH_VERSION}/1234567890123456/events",
            request_body=json.dumps({"data": [rows[failed_id].payload]}),
            http_status=400,
            response_body=json.dumps({"error": {"message": "Invalid OAuth access token", "code": 190}}),
            fbtrace_id="TraceFailed",
            duration_ms=42,
            outcome="permanent",
            error="Invalid OAuth access token (code 190, HTTP 400)",
        )
        db.session.add(attempt)
        db.session.flush()
        db.session.execute(attempt_event.insert().values(attempt_id=attempt.id, outbox_event_id=failed_id))
        db.session.add_all(
            [
                Decision(
                    order_id=order.id,
                    old_state_id=order.current_state_id,
                    new_state_id=refund_state.id,
                    outcome="fired",
                    reason="order refunded: Refund event of 12.30 EUR queued",
                    outbox_event_id=failed_id,
                ),
                Decision(order_id=order.id, outcome="skipped", reason="state Shipped does not fire"),
            ]
        )
        db.session.commit()
        return {
            "order_id": order_id,
            "reference": order.reference,
            "sent": sent_id,
            "failed": failed_id,
            "pending": pending_id,
        }


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for path in ("/admin/events", "/admin/decisions", "/admin/events/export.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_the_log_lists_events_newest_first_with_counts_per_status(client, auth, log_data):
    auth.login("tester")
    html = page(client, "/admin/events")
    positions = [html.index(f'data-event-id="{log_data[k]}"') for k in ("pending", "failed", "sent")]
    assert positions == sorted(positions)
    assert 'data-status="sent"' in html
    for status in ("pending", "sent", "failed"):
        assert f'data-status="{status}"' in html
    assert "Sent events" in html and "Decisions" in html  # the menu entries
    assert "Not a valid choice" not in html and "is-invalid" not in html
    assert "is-invalid" not in page(client, "/admin/decisions")
    assert "Not a valid choice" in page(client, "/admin/events?status=lost")


def test_the_log_filters_by_status_reference_test_code_and_date(client, auth, log_data, app):
    auth.login("tester")
    html = page(client, "/admin/events?status=failed")
    assert f'data-event-id="{log_data["failed"]}"' in html and f'data-event-id="{log_data["sent"]}"' not in html
    html = page(client, "/admin/events?test_code=TEST42")
    assert html.count("data-event-id=") == 1
    html = page(client, f"/admin/events?reference={log_data['reference'].lower()}")
    assert html.count("data-event-id=") == 3
    html = page(client, "/admin/events?reference=NOSUCHREF")
    assert html.count("data-event-id=") == 0 and "No events match the filter" in html
    today = utcnow().date()
    html = page(client, f"/admin/events?date_from={today}&date_to={today}")
    assert html.count("data-event-id=") == 3
    html = page(client, f"/admin/events?date_to={today - timedelta(days=1)}")
    assert html.count("data-event-id=") == 0
    html = page(client, f"/admin/events?order_id={log_data['order_id']}")
    assert html.count("data-event-id=") == 3


def test_bad_filters_are_explained_and_ignored(client, auth, log_data):
    auth.login("tester")
    html = page(client, "/admin/events?date_from=2026-05-10&date_to=2026-05-01&reference=12345")
    assert "The end date is before the start date." in html
    assert "An order reference is up to 9 letters." in html


def test_keyset_pagination_walks_older_and_newer(client, auth, app):
    with app.app_context():
        ids = add_events(60)
    auth.login("tester")
    first = page(client, "/admin/events?per_page=25")
    assert first.count("data-event-id=") == 25 and f'data-event-id="{ids[-1]}"' in first
    older = f"before={ids[-25]}"
    assert older in first
    second = page(client, f"/admin/events?per_page=25&{older}")
    assert f'data-event-id="{ids[-26]}"' in second and f'data-event-id="{ids[-25]}"' not in second
    assert f"after={ids[-26]}" in second  # a link back to newer events
    third = page(client, f"/admin/events?per_page=25&before={ids[-50]}")
    assert third.count("data-event-id=") == 10 and 'rel="next"' not in third  # the oldest page
    assert 'rel="prev"' not in first  # the newest page
    back = page(client, f"/admin/events?per_page=25&after={ids[-26]}")
    assert back.count("data-event-id=") == 25 and f'data-event-id="{ids[-1]}"' in back


def test_the_event_page_shows_payload_attempts_and_decision(client, auth, log_data):
    auth.login("tester")
    html = page(client, f"/admin/events/{log_data['failed']}")
    assert "&#34;value&#34;: 12.30" in html or '"value": 12.30' in html  # pretty-printed, the number exact
    assert "TraceFailed" in html and "42 ms" in html and "HTTP 400" in html
    assert f"/sandbox/graph/{GRAPH_VERSION}/1234567890123456/events" in html
    assert "order refunded: Refund event of 12.30 EUR queued" in html
    assert "Refunded" in html
    assert 'id="resend-form"' not in html  # testers may not resend
    assert client.get("/admin/events/999999").status_code == 404


def test_merchants_resend_a_failed_event_keeping_its_event_id(client, auth, log_data, app):
    with app.app_context():
        event_id = db.session.get(OutboxEvent, log_data["failed"]).event_id
    auth.login("tester")
    assert client.post(f"/admin/events/{log_data['failed']}/resend").status_code == 403
    auth.logout()
    auth.login("merchant")
    assert 'id="resend-form"' in page(client, f"/admin/events/{log_data['failed']}")
    response = client.post(f"/admin/events/{log_data['failed']}/resend", follow_redirects=True)
    assert "queued again with the same event_id" in response.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(OutboxEvent, log_data["failed"])
        assert row.status == PENDING and row.event_id == event_id and row.attempts == 0
    response = client.post(f"/admin/events/{log_data['sent']}/resend", follow_redirects=True)
    assert "only a failed event can be resent" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(OutboxEvent, log_data["sent"]).status == SENT


def test_resend_is_refused_without_a_csrf_token(app, client, auth, log_data):
    auth.login("merchant")
    app.config["WTF_CSRF_ENABLED"] = True  # the shop's real setting (tests switch it off by default)
    response = client.post(f"/admin/events/{log_data['failed']}/resend")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(OutboxEvent, log_data["failed"]).status == FAILED


def test_exports_follow_the_filter(client, auth, log_data):
    auth.login("tester")
    response = client.get("/admin/events/export.csv?status=failed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == [log_data["failed"]]
    assert rows[0]["status"] == "failed" and "code 190" in rows[0]["last_error"]
    assert json.loads(rows[0]["payload"])["event_id"] == rows[0]["event_id"]

    response = client.get(f"/admin/events/export.json?reference={log_data['reference']}")
    text = response.get_data(as_text=True)
    events = json.loads(text)
    assert [e["id"] for e in events] == [log_data["pending"], log_data["failed"], log_data["sent"]]
    assert '"value": 12.30' in text  # exact, inside the payload
    assert events[2]["response"]["fbtrace_id"] == "TraceSent"


def test_exports_stream_in_chunks(client, auth, app, monkeypatch):
    from delivery import event_log

    monkeypatch.setattr(event_log, "EXPORT_CHUNK", 2)
    with app.app_context():
        ids = add_events(5)
    auth.login("tester")
    events = json.loads(client.get("/admin/events/export.json").get_data(as_text=True))
    assert [e["id"] for e in events] == ids[::-1]
    lines = client.get("/admin/events/export.csv").get_data(as_text=True).splitlines()
    assert lines[0].startswith("id,created_at,") and len(lines) == 6
    empty = client.get("/admin/events/export.json?status=failed").get_data(as_text=True)
    assert json.loads(empty) == []


def test_the_decisions_list_filters_by_outcome_and_reference(client, auth, log_data):
    auth.login("tester")
    html = page(client, "/admin/decisions")
    assert "order refunded: Refund event of 12.30 EUR queued" in html and "state Shipped does not fire" in html
    html = page(client, "/admin/decisions?outcome=skipped")
    assert "state Shipped does not fire" in html and "Refund event of 12.30 EUR queued" not in html
    html = page(client, "/admin/decisions?reference=ZZZZZZZZZ")
    assert "No decisions match the filter" in html
    html = page(client, f"/admin/decisions?order_id={log_data['order_id']}&outcome=fired")
    assert f"/admin/events/{log_data['failed']}" in html


def test_api_lists_events_and_decisions(api, log_data):
    response = api.get(f"/api/pixelplus/events?order_id={log_data['order_id']}", role="tester")
    assert response.status_code == 200
    events = response.get_json()
    assert [e["id"] for e in events] == [log_data["sent"], log_data["failed"], log_data["pending"]]
    first = events[0]
    assert set(first) >= {
        "id",
        "order_id",
        "event_name",
        "event_id",
        "status",
        "attempts",
        "last_error",
        "payload",
        "response",
        "sent_at",
    }
    assert first["payload"]["custom_data"]["value"] == 12.30 and '"value": 12.30' in response.get_data(as_text=True)
    assert first["response"]["events_received"] == 1 and first["sent_at"]
    failed = api.get("/api/pixelplus/events?status=failed", role="admin").get_json()
    assert [e["id"] for e in failed] == [log_data["failed"]]

    decisions = api.get(f"/api/pixelplus/decisions?order_id={log_data['order_id']}").get_json()
    mine = [d for d in decisions if d["reason"].startswith(("order refunded", "state Shipped"))]
    assert [d["outcome"] for d in mine] == ["fired", "skipped"]
    assert set(mine[0]) >= {"id", "order_id", "old_state_id", "new_state_id", "at", "outcome", "reason"}


def test_api_refuses_bad_queries_and_anonymous_calls(api, client, log_data):
    assert client.get("/api/pixelplus/events").status_code == 401
    response = api.get("/api/pixelplus/events?status=lost")
    assert response.status_code == 422 and response.get_json()["error"]["fields"]["status"]
    assert api.get("/api/pixelplus/events?order_id=abc").status_code == 422
    assert api.get("/api/pixelplus/decisions?outcome=maybe").status_code == 422
    assert api.get("/api/pixelplus/events?limit=0").status_code == 422


def test_api_resend(api, log_data, app):
    assert api.post(f"/api/pixelplus/events/{log_data['failed']}/resend", role="tester").status_code == 403
    assert api.post(f"/api/pixelplus/events/{log_data['failed']}/resend", role="admin").status_code == 403
    response = api.post(f"/api/pixelplus/events/{log_data['failed']}/resend", role="merchant")
    assert response.status_code == 200 and response.get_json()["status"] == PENDING
    again = api.post(f"/api/pixelplus/events/{log_data['failed']}/resend", role="merchant")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert api.post("/api/pixelplus/events/999999/resend", role="merchant").status_code == 404
