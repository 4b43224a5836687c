"""Signed refund webhooks end to end: endpoints over the API, status changes and credit slips, the dispatcher,
and the embedded Standard Webhooks receiver on a real port.

Expected values come from the rules as a merchant states them: an order of 2 T-shirts (23.88) and a mug
(11.40) plus 8.40 shipping is 67.56 EUR = 6756 cents; a credit slip for one T-shirt is 23.88 = 2388 cents;
what is left is 67.56 - 23.88 = 43.68 = 4368 cents.
"""

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import Text, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.dbtypes import utcnow
from delivery import allow_host, retry
from delivery.models import OutboxEvent
from delivery.registry import destinations
from extensions import db
from tests.delivery_support import MovingClock
from tests.test_delivery_google import Shop, only
from webhooks import endpoints
from webhooks.models import WebhookEndpoint
from webhooks.sender import RETRY_SCHEDULE, signed_headers

RECEIVER = "shop-test"


class WebhookShop(Shop):
    """The live shop with one webhook endpoint at the sandbox receiver, whose secret the receiver knows."""

    def add_endpoint(self, name: str = RECEIVER) -> dict:
        created = self.send("POST", "/api/webhooks/endpoints", {"url": f"{self.url}/sandbox/webhooks/{name}"}, 201)
        self.send("PUT", f"/sandbox/api/webhooks/secrets/{name}", {"secret": created["secret"]})
        return created

    def faults(self, body: dict) -> None:
        self.send("PUT", "/sandbox/api/webhooks/faults", body)


@pytest.fixture
def shop(app, live, staff, shop_data):
    allow_host(app, live.url)
    from shop.models import OrderState

    with app.app_context():
        db.session.add(OrderState(name="Partially refunded", paid=False, logable=False, send_email=False))
        db.session.commit()
    return WebhookShop(app, live.url, staff.headers("superadmin"))


def verify(secret: str, hit: dict) -> dict:
    """Verify a received request on the test's side, with the library a receiver would use."""
    return Webhook(secret).verify(hit["body"], hit["headers"])


def test_full_refund_is_signed_and_verified_by_the_receiver(shop):
    endpoint = shop.add_endpoint()
    order = shop.order()
    shop.status(order, "PS_OS_REFUND")
    assert shop.dispatch(only="webhook").sent == 1
    hit = only(shop.received("webhook"))
    assert hit["verified"] is True and hit["answered"] == 200
    event = verify(endpoint["secret"], hit)
    assert event["type"] == "transaction.refunded" and hit["headers"]["webhook-id"] == event["id"]
    data = event["data"]
    assert data["id"] == order["reference"] and data["currency"] == "EUR"
    assert data["amount"] == 6756 and data["gross_amount"] == 6756 and data["status"] == "refunded"
    assert data["refund"]["amount"] == 6756 and data["refund"]["reason"] == "requested_by_customer"
    assert data["customer"]["email"] == "jeanne@example.fr"
    row = only(shop.events("webhook"))
    assert row["status"] == "sent" and row["payload"] == event


def test_credit_slip_then_refund_reports_the_slip_then_what_is_left(shop):
    endpoint = shop.add_endpoint()
    order = shop.order()
    shop.slip_one_tshirt(order)
    shop.status(order, "PS_OS_REFUND")
    assert shop.dispatch(only="webhook").sent == 2
    slip, rest = (verify(endpoint["secret"], hit)["data"] for hit in shop.received("webhook"))
    assert slip["refund"]["amount"] == 2388 and slip["status"] == "partially_refunded"
    assert rest["refund"]["amount"] == 4368 and rest["status"] == "refunded"


def test_retry_keeps_the_id_and_signs_again(shop, app):
    endpoint = shop.add_endpoint()
    shop.faults({"error": "server", "count": 1})
    order = shop.order()
    shop.status(order, "PS_OS_REFUND")
    clock = MovingClock()
    assert shop.dispatch(clock=clock, only="webhook").sent == 0
    clock.advance(5 * 1.5 + 1)  # past the first retry's floor and its jitter
    assert shop.dispatch(clock=clock, only="webhook").sent == 1
    first, second = shop.received("webhook")
    assert first["answered"] == 500 and second["answered"] == 200
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert first["body"] == second["body"]
    assert verify(endpoint["secret"], second)["id"] == second["headers"]["webhook-id"]


def test_retry_schedule_is_standard_webhooks(app, shop, monkeypatch):
    # at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: about 3 days.
    # Jitter fixed at half its range: at its top, the floors' 3.15 days times 1.5 pass the 4-day window, whose
    # end then cuts the last tries short (by design), which is not what this test is about.
    drawn = retry.retry_wait
    monkeypatch.setattr(retry, "retry_wait", lambda *args, **kwargs: drawn(*args, rand=lambda: 0.5, **kwargs))
    assert destinations(app)["webhook"].retry_schedule == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    assert 3 * 86400 - 6 * 3600 < sum(RETRY_SCHEDULE) < 3 * 86400 + 6 * 3600
    shop.add_endpoint()
    shop.faults({"error": "unavailable"})
    shop.status(shop.order(), "PS_OS_REFUND")
    clock = MovingClock()
    waits = []
    for floor in RETRY_SCHEDULE:
        shop.dispatch(clock=clock, only="webhook")
        with app.app_context():
            row = db.session.scalars(select(OutboxEvent).where(OutboxEvent.destination == "webhook")).one()
            wait = (row.next_attempt_at - clock()).total_seconds()
        assert floor <= wait <= floor * 1.5 + 1, (floor, wait)
        waits.append(wait)
        clock.advance(wait + 0.001)
    assert len(shop.received("webhook")) == len(RETRY_SCHEDULE)


def test_rotated_secret_both_sign_for_24_hours_then_only_the_new(app, shop):
    old = shop.add_endpoint()
    rotated = shop.send("POST", f"/api/webhooks/endpoints/{old['id']}/rotate-secret")
    assert rotated["secret"] != old["secret"] and rotated["secret"].startswith("whsec_")
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, old["id"])
        body, now = '{"id": "evt_1"}', utcnow()
        during = signed_headers(endpoint.signing_secrets(now + timedelta(hours=23)), "evt_1", body, now)
        after = signed_headers(endpoint.signing_secrets(now + timedelta(hours=24, seconds=1)), "evt_1", body, now)
    assert len(during["webhook-signature"].split(" ")) == 2
    assert Webhook(old["secret"]).verify(body, during) == {"id": "evt_1"}
    assert Webhook(rotated["secret"]).verify(body, during) == {"id": "evt_1"}
    assert len(after["webhook-signature"].split(" ")) == 1
    assert Webhook(rotated["secret"]).verify(body, after) == {"id": "evt_1"}
    with pytest.raises(WebhookVerificationError):
        Webhook(old["secret"]).verify(body, after)


def test_gone_disables_the_endpoint_and_says_so(app, shop, client, auth):
    endpoint = shop.add_endpoint()
    shop.faults({"error": "gone"})
    shop.status(shop.order(), "PS_OS_REFUND")
    summary = shop.dispatch(only="webhook")
    assert summary.failed == 1
    listed = only(shop.get("/api/webhooks/endpoints"))
    assert listed["enabled"] is False and "410" in listed["disabled_reason"]
    assert "410" in only(shop.events("webhook"))["last_error"]
    auth.login("merchant")
    assert "answered HTTP 410 Gone" in client.get("/admin/webhooks").text
    # A refund after that is not sent to the switched-off endpoint.
    shop.status(shop.order(), "PS_OS_REFUND")
    assert len(shop.events("webhook")) == 1
    assert endpoint["id"] == listed["id"]


def test_redirect_is_refused_not_followed(shop):
    shop.add_endpoint()
    shop.faults({"error": "wrong_status"})
    shop.status(shop.order(), "PS_OS_REFUND")
    assert shop.dispatch(only="webhook").failed == 1
    assert len(shop.received("webhook")) == 1  # example.com never saw it
    assert "redirect" in only(shop.events("webhook"))["last_error"].lower()


def test_the_secret_is_in_no_other_column_no_log_no_page(app, shop, client, auth, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint = shop.add_endpoint()
    shop.faults({"error": "server", "count": 1})
    shop.status(shop.order(), "PS_OS_REFUND")
    shop.dispatch(only="webhook")
    rotated = shop.send("POST", f"/api/webhooks/endpoints/{endpoint['id']}/rotate-secret")
    secrets = [endpoint["secret"], rotated["secret"]]
    own = {
        ("webhook_endpoint", "secret"),
        ("webhook_endpoint", "previous_secret"),
        ("sandbox_webhook_secret", "secret"),
    }
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if (table.name, column.name) in own or not isinstance(column.type, Text | db.String | db.JSON):
                    continue
                for value in db.session.execute(select(column)).scalars():
                    text = value if isinstance(value, str) else json.dumps(value)
                    assert not any(s in text for s in secrets), (table.name, column.name)
    assert not any(s in caplog.text for s in secrets)
    auth.login("merchant")
    for page in ("/admin/webhooks", "/admin/events", "/admin/decisions"):
        response = client.get(page)
        assert response.status_code == 200 and not any(s in response.text for s in secrets), page
    listed = only(shop.get("/api/webhooks/endpoints"))
    assert listed["secret"] == "whsec_…" + rotated["secret"][-4:]


HOSTILE = [
    ({"url": "https://exa\ud800mple.com/x"}, "url"),
    ({"url": "https://example.com/" + "a" * 10_000}, "url"),
    ({"url": "https://10.0.0.1/hook"}, "url"),
    ({"url": "https://169.254.169.254/latest"}, "url"),
    ({"url": "https://192.168.1.1/hook"}, "url"),
    ({"url": "http://example.com/hook"}, "url"),
    ({"url": "https://example.com/\x00"}, "url"),
    ({"url": 2**63}, "url"),
    ({"url": "https://example.com/h", "event_types": ["order.created"]}, "event_types"),
    ({"url": "https://example.com/h", "event_types": "transaction.refunded"}, "event_types"),
    ({"url": "https://example.com/h", "enabled": "yes"}, "enabled"),
    ({"url": "https://example.com/h", "secret": "whsec_mine"}, "secret"),
]


@pytest.mark.parametrize(("body", "field"), HOSTILE)
def test_hostile_endpoint_input_is_422_per_field_and_writes_nothing(app, api, body, field):
    response = api.post("/api/webhooks/endpoints", body, "merchant")
    assert response.status_code == 422, response.text
    assert field in response.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(WebhookEndpoint)) == 0


def test_hostile_ids_and_updates(app, api):
    created = api.post("/api/webhooks/endpoints", {"url": "https://example.com/hook"}, "merchant")
    assert created.status_code == 201
    endpoint_id = created.get_json()["id"]
    assert (
        api.client.patch(f"/api/webhooks/endpoints/{2**63}", json={}, headers=api.staff.headers("merchant")).status_code
        == 404
    )
    assert api.post(f"/api/webhooks/endpoints/{2**64}/rotate-secret", None, "merchant").status_code == 404
    bad = api.client.patch(
        f"/api/webhooks/endpoints/{endpoint_id}",
        json={"url": "https://127.0.0.1.nip.io\udfff/"},
        headers=api.staff.headers("merchant"),
    )
    assert bad.status_code == 422 and "url" in bad.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).url == "https://example.com/hook"


def test_roles(api):
    body = {"url": "https://example.com/hook"}
    assert api.post("/api/webhooks/endpoints", body, "tester").status_code == 403
    assert api.post("/api/webhooks/endpoints", body, "admin").status_code == 403
    created = api.post("/api/webhooks/endpoints", body, "merchant")
    assert created.status_code == 201 and created.get_json()["secret"].startswith("whsec_")
    endpoint_id = created.get_json()["id"]
    listed = api.get("/api/webhooks/endpoints", "tester")
    assert listed.status_code == 200 and created.get_json()["secret"] not in listed.text
    assert api.post(f"/api/webhooks/endpoints/{endpoint_id}/rotate-secret", None, "tester").status_code == 403
    assert api.delete(f"/api/webhooks/endpoints/{endpoint_id}", "tester").status_code == 403
    assert api.delete(f"/api/webhooks/endpoints/{endpoint_id}", "merchant").status_code == 200


def test_secret_is_24_random_bytes_base64():
    import base64

    secret = endpoints.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert endpoints.new_secret() != secret


def test_sandbox_receiver_refuses_a_wrong_signature(shop):
    shop.add_endpoint()
    body = '{"id": "evt_x"}'
    headers = signed_headers([endpoints.new_secret()], "evt_x", body, utcnow())
    response = shop.http.post(f"{shop.url}/sandbox/webhooks/{RECEIVER}", data=body, headers=headers, timeout=10)
    assert response.status_code == 400
    hit = only(shop.received("webhook"))
    assert hit["verified"] is False and hit["verification_error"]


def test_sandbox_webhooks_tab_shows_verification_and_takes_faults(shop, client, auth):
    endpoint = shop.add_endpoint()
    shop.status(shop.order(), "PS_OS_REFUND")
    shop.dispatch(only="webhook")
    auth.login("tester")
    page = client.get("/sandbox/services/webhooks")
    assert page.status_code == 200 and "verified" in page.text and RECEIVER in page.text
    assert endpoint["secret"] not in page.text
    answer = client.post("/sandbox/services/webhook/faults", data={"error": "gone", "count": "1"})
    assert answer.status_code == 302
    assert shop.get("/sandbox/api/webhooks/faults") == {"error": "gone", "error_rate": 1.0, "count": 1}


def test_demo_registers_an_endpoint_at_the_sandbox_receiver(app):
    from sandbox.webhooks.receiver import secret_for

    result = app.test_cli_runner().invoke(args=["shop", "init-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        endpoint = only(endpoints.endpoints())
        assert endpoint.url == app.config["WEBHOOKS_DEMO_URL"] and endpoint.url.endswith("/sandbox/webhooks/demo")
        assert endpoint.enabled and secret_for("demo") == endpoint.secret
    assert endpoint.secret not in result.output
    again = app.test_cli_runner().invoke(args=["shop", "init-demo"])
    assert again.exit_code == 0
    with app.app_context():
        assert len(endpoints.endpoints()) == 1


def test_reason_and_note_ride_in_the_payload(shop):
    endpoint = shop.add_endpoint()
    order = shop.order()
    line = next(line for line in order["lines"] if line["product_id"] == shop.tshirt)
    slip = {"lines": [{"order_line_id": line["id"], "quantity": 1}], "reason": "duplicate", "note": "ordered twice"}
    shop.send("POST", f"/api/orders/{order['id']}/credit-slips", slip, 201)
    shop.send(
        "POST", f"/api/orders/{order['id']}/status", {"state_id": shop.states["PS_OS_REFUND"], "reason": "fraudulent"}
    )
    shop.dispatch(only="webhook")
    first, second = (verify(endpoint["secret"], hit)["data"]["refund"] for hit in shop.received("webhook"))
    assert (first["reason"], first["note"], first["amount"]) == ("duplicate", "ordered twice", 2388)
    assert (second["reason"], second["note"], second["amount"]) == ("fraudulent", None, 4368)


@pytest.mark.parametrize(
    "extra", [{"reason": "because"}, {"reason": 7}, {"note": "x" * 501}, {"note": "a\x07b"}, {"note": "\ud800"}]
)
def test_hostile_reason_or_note_is_422_and_changes_nothing(shop, extra):
    order = shop.order()
    body = {"state_id": shop.states["PS_OS_REFUND"], **extra}
    answer = shop.http.post(f"{shop.url}/api/orders/{order['id']}/status", json=body, timeout=10)
    assert answer.status_code == 422 and next(iter(extra)) in answer.json()["error"]["fields"]
    assert shop.get(f"/api/orders/{order['id']}")["current_state"]["id"] == shop.states["PS_OS_PAYMENT"]


def test_each_attempt_keeps_the_headers_sent_and_answered_and_the_event_page_shows_them(app, shop, client, auth):
    endpoint = shop.add_endpoint()
    shop.faults({"error": "server", "count": 1})
    shop.status(shop.order(), "PS_OS_REFUND")
    clock = MovingClock()
    assert shop.dispatch(clock=clock, only="webhook").sent == 0  # the sandbox answers 500 once
    clock.advance(5 * 1.5 + 1)  # past the first retry's floor and its jitter
    assert shop.dispatch(clock=clock, only="webhook").sent == 1
    hits = shop.received("webhook")
    from delivery.models import DeliveryAttempt

    with app.app_context():
        attempts = db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
        assert [a.http_status for a in attempts] == [500, 200]
        for attempt, hit in zip(attempts, hits[-2:], strict=True):
            sent = dict(attempt.sent_headers)
            # Exactly the signature and ids the receiver got (re-signed at each attempt, same webhook-id).
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
                assert sent[name] == hit["headers"][name]
            assert sent["webhook-signature"].startswith("v1,") and endpoint["secret"] not in attempt.request_headers
            assert dict(attempt.answer_headers)["Content-Type"]  # what the receiver answered with
        event_id = attempts[0].events[0].id
        signatures = [dict(a.sent_headers)["webhook-signature"] for a in attempts]
    auth.login("tester")
    page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "Request headers" in page and "Response headers" in page
    assert all(f"webhook-signature: {signature}" in page for signature in signatures)
