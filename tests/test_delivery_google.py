"""GA4 and Google Ads end to end: status changes over HTTP, the dispatcher, the embedded sandboxes on a port.

Expected values are written from the rules as a merchant states them: an order of 2 T-shirts (23.88) and a
mug (11.40) plus 8.40 shipping is 67.56; a credit slip for one T-shirt is 23.88; what is left is
67.56 − 23.88 = 43.68. GA4 gets a `refund` of the refunded amount; Google Ads a RESTATEMENT to the new
total (43.68), then a RETRACTION.
"""

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select, text, update

from app import DEMO_GOOGLEADS_TOKEN
from core.dbtypes import utcnow
from delivery import allow_host
from delivery.dispatcher import Dispatcher
from delivery.models import OutboxEvent
from extensions import db
from ga4.settings import save_settings as save_ga4
from googleads.settings import save_settings as save_ads
from shop.models import Order, OrderState
from shop.status import change_state

MEASUREMENT_ID, API_SECRET = "G-TEST12345", "testApiSecret-1234"
CUSTOMER, ACTION = "1234567890", "987654321"
GA_CLIENT = "1111111111.1700000000"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PIXELPLUS_DISPATCH": "worker", "DELIVERY_RETRY_SCHEDULE": [0.01, 0.05]}


class Shop:
    """The live shop: JSON API calls as a superadmin, the sandbox's tester API, and the dispatcher."""

    def __init__(self, app, url: str, headers: dict):
        self.app, self.url = app, url
        self.http = requests.Session()
        self.http.headers.update(headers)
        with app.app_context():
            self.states = {s.key or s.name: s.id for s in db.session.scalars(select(OrderState))}
            products = self.get("/api/products")
        self.tshirt, self.mug = (
            next(p["id"] for p in products if p["reference"] == ref) for ref in ("TSHIRT-01", "MUG-01")
        )

    def get(self, path: str, **params):
        response = self.http.get(self.url + path, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json() if "json" in response.headers.get("Content-Type", "") else response.text

    def send(self, method: str, path: str, body=None, status: int = 200):
        response = self.http.request(method, self.url + path, json=body, timeout=30)
        assert response.status_code == status, response.text
        return response.json()

    def order(self, ga_client_id: str | None = GA_CLIENT) -> dict:
        """Place a paid order of 67.56 EUR (2 T-shirts, 1 mug, shipping) over the API."""
        body = {
            "customer": {"email": "jeanne@example.fr", "firstname": "Jeanne", "lastname": "Martin", "country": "FR"},
            "lines": [{"product_id": self.tshirt, "quantity": 2}, {"product_id": self.mug, "quantity": 1}],
            "currency": "EUR",
            "state_id": self.states["PS_OS_PAYMENT"],
            "browser": {"ga_client_id": ga_client_id} if ga_client_id else None,
        }
        order = self.send("POST", "/api/orders", body, 201)
        assert order["total_paid_tax_incl"] == "67.56"
        return order

    def status(self, order: dict, state: str) -> None:
        self.send("POST", f"/api/orders/{order['id']}/status", {"state_id": self.states[state]})

    def slip_one_tshirt(self, order: dict) -> None:
        line = next(line for line in order["lines"] if line["product_id"] == self.tshirt)
        self.send(
            "POST",
            f"/api/orders/{order['id']}/credit-slips",
            {"lines": [{"order_line_id": line["id"], "quantity": 1}], "refund_shipping": False},
            201,
        )

    def register_conversions(self, *orders: dict, at: datetime | None = None) -> None:
        conversions = [
            {
                "order_id": o["reference"],
                "conversion_date_time": (at or utcnow() - timedelta(hours=1)).isoformat(),
                "value": "67.56",
                "currency": "EUR",
            }
            for o in orders
        ]
        body = {"customer_id": CUSTOMER, "conversion_action_id": ACTION, "conversions": conversions}
        self.send("PUT", "/sandbox/api/googleads/conversions", body)

    def dispatch(self, clock=None, only: str | None = None):
        """Deliver everything due (to one destination when only is given), once, as `pixelplus dispatch` does."""
        with self.app.app_context():
            dispatcher = Dispatcher(self.app, clock=clock, only=only)
            try:
                return dispatcher.run_once()
            finally:
                dispatcher.close()

    def received(self, destination: str) -> list[dict]:
        return self.get("/sandbox/api/received", destination=destination)

    def events(self, destination: str) -> list[dict]:
        return self.get("/api/events", destination=destination)

    def decisions(self, destination: str, order: dict) -> list[dict]:
        return self.get("/api/decisions", destination=destination, order_id=order["id"])


@pytest.fixture
def shop(app, live, staff, shop_data):
    """GA4 and Google Ads enabled against the sandboxes of the live app; a Partially refunded state."""
    allow_host(app, live.url)
    with app.app_context():
        partial = OrderState(name="Partially refunded", paid=False, logable=False, send_email=False)
        db.session.add(partial)
        db.session.flush()
        triggers = [
            s.id
            for s in db.session.scalars(
                select(OrderState).where(OrderState.key.in_(["PS_OS_REFUND", "PS_OS_CANCELED"]))
            )
        ]
        common = {"trigger_state_ids": [*triggers, partial.id], "enabled": True}
        save_ga4(
            {
                "measurement_id": MEASUREMENT_ID,
                "api_secret": API_SECRET,
                "base_url": f"{live.url}/sandbox/ga4",
                **common,
            }
        )
        save_ads(
            {
                "customer_id": CUSTOMER,
                "conversion_action_id": ACTION,
                "oauth_refresh_token": DEMO_GOOGLEADS_TOKEN,
                "base_url": f"{live.url}/sandbox/googleads",
                "time_zone": "Europe/Paris",
                **common,
            }
        )
        db.session.commit()
    return Shop(app, live.url, staff.headers("superadmin"))


def only(rows: list) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


# --- GA4 -------------------------------------------------------------------------------------------


def test_ga4_full_refund_sends_refund_without_items(shop):
    order = shop.order()
    before = utcnow()
    shop.status(order, "PS_OS_REFUND")
    assert shop.dispatch(only="ga4").sent == 1
    hit = only(shop.received("ga4"))
    assert hit["measurement_id"] == MEASUREMENT_ID and hit["client_id"] == GA_CLIENT and hit["debug"] is False
    assert hit["api_secret"] == "te…34"
    event = hit["event"]
    assert event["name"] == "refund"
    assert event["params"] == {"transaction_id": order["reference"], "value": 67.56, "currency": "EUR"}
    micros = event["timestamp_micros"]
    assert len(str(micros)) == 16 and before.timestamp() - 1 <= micros / 1e6 <= utcnow().timestamp()
    row = only(shop.events("ga4"))
    assert row["status"] == "sent" and row["payload"] == event
    decision = only(shop.decisions("ga4", order)[-1:])
    assert decision["outcome"] == "fired" and "67.56 EUR" in decision["reason"] and "no items" in decision["reason"]


def test_ga4_partial_then_full_reports_the_slip_then_what_is_left(shop):
    order = shop.order(ga_client_id=None)
    shop.slip_one_tshirt(order)
    shop.status(order, "Partially refunded")
    shop.status(order, "PS_OS_REFUND")
    assert shop.dispatch(only="ga4").sent == 2
    partial, full = shop.received("ga4")
    assert partial["event"]["params"] == {
        "transaction_id": order["reference"],
        "value": 23.88,
        "currency": "EUR",
        "items": [{"item_id": str(shop.tshirt), "item_name": "T-shirt", "quantity": 1, "price": 23.88}],
    }
    assert full["event"]["params"] == {"transaction_id": order["reference"], "value": 43.68, "currency": "EUR"}
    assert partial["client_id"] == full["client_id"] and partial["client_id"].startswith(f"{order['id']}.")
    reasons = [d["reason"] for d in shop.decisions("ga4", order) if d["outcome"] == "fired"]
    assert "no _ga cookie" in reasons[0]


def test_ga4_change_older_than_72_hours_is_sent_without_timestamp(shop, app):
    order = shop.order()
    with app.app_context():
        row = db.session.get(Order, order["id"])
        change_state(row, OrderState.by_key("PS_OS_REFUND"), at=utcnow() - timedelta(hours=73))
        db.session.commit()
    shop.dispatch(only="ga4")
    assert "timestamp_micros" not in only(shop.received("ga4"))["event"]
    decision = next(d for d in shop.decisions("ga4", order) if d["outcome"] == "fired")
    assert "more than 72 h ago" in decision["reason"]


def test_ga4_26_events_of_one_client_take_two_requests(shop):
    orders = [shop.order() for _ in range(26)]
    shop.send(
        "POST",
        "/api/orders/bulk-status",
        {"order_ids": [o["id"] for o in orders], "state_id": shop.states["PS_OS_REFUND"]},
    )
    summary = shop.dispatch(only="ga4")
    assert (summary.sent, summary.requests) == (26, 2)
    hits = shop.received("ga4")
    sizes = sorted(sum(1 for h in hits if h["request_id"] == r) for r in {h["request_id"] for h in hits})
    assert sizes == [1, 25]


def test_ga4_server_errors_are_retried_and_shown_in_the_log(shop):
    order = shop.order()
    shop.send("PUT", "/sandbox/api/ga4/faults", {"error": "unavailable", "count": 1})
    shop.status(order, "PS_OS_REFUND")
    shop.dispatch(only="ga4")
    row = only(shop.events("ga4"))
    assert row["status"] == "pending" and "HTTP 503" in row["last_error"]
    shop.dispatch(only="ga4", clock=lambda: utcnow() + timedelta(minutes=5))
    assert only(shop.events("ga4"))["status"] == "sent" and len(shop.received("ga4")) == 1


def test_ga4_send_test_event_shows_validation_messages(shop):
    answer = shop.send("POST", "/api/ga4/test-event")
    assert answer["ok"] is True and answer["messages"] == [] and answer["http_status"] == 200
    assert only(shop.received("ga4"))["debug"] is True


# --- Google Ads ------------------------------------------------------------------------------------


def test_ads_full_refund_retracts_the_conversion(shop):
    order = shop.order()
    shop.register_conversions(order)
    answer = shop.send("POST", f"/api/orders/{order['id']}/status", {"state_id": shop.states["PS_OS_REFUND"]})
    said = {m["module"]: m["message"] for m in answer["modules"]}
    assert said["Google Ads adjustments"] == "Google Ads adjustments: Retraction 67.56 EUR queued"
    assert said["GA4 refunds"] == "GA4 refunds: refund 67.56 EUR queued"
    assert shop.dispatch(only="google_ads").sent == 1
    received = only(shop.received("google_ads"))
    assert received["applied"] is True and received["error_code"] is None
    adjustment = received["adjustment"]
    assert adjustment["adjustmentType"] == "RETRACTION" and "restatementValue" not in adjustment
    assert adjustment["orderId"] == order["reference"]
    assert adjustment["conversionAction"] == f"customers/{CUSTOMER}/conversionActions/{ACTION}"
    when = datetime.fromisoformat(adjustment["adjustmentDateTime"])
    assert adjustment["adjustmentDateTime"][-6:] in ("+01:00", "+02:00")  # Europe/Paris
    assert abs((when - utcnow()).total_seconds()) < 60


def test_ads_partial_restates_to_the_new_total_then_full_retracts_then_nothing(shop):
    order = shop.order()
    shop.register_conversions(order)
    shop.slip_one_tshirt(order)
    shop.status(order, "Partially refunded")
    shop.status(order, "PS_OS_REFUND")
    shop.status(order, "PS_OS_CANCELED")
    assert shop.dispatch(only="google_ads").sent == 2
    restatement, retraction = (r["adjustment"] for r in shop.received("google_ads"))
    assert restatement["adjustmentType"] == "RESTATEMENT"
    assert restatement["restatementValue"] == {"adjustedValue": 43.68, "currencyCode": "EUR"}  # 67.56 − 23.88
    assert retraction["adjustmentType"] == "RETRACTION"
    assert retraction["adjustmentDateTime"] > restatement["adjustmentDateTime"]
    canceled = shop.decisions("google_ads", order)[-1]
    assert canceled["outcome"] == "skipped" and "already retracted" in canceled["reason"]
    assert all(r["applied"] for r in shop.received("google_ads"))


def test_ads_refused_past_54_days_and_the_window_closes(shop, app):
    old, recent = shop.order(), shop.order()
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == old["id"]).values(created_at=utcnow() - timedelta(days=55)))
        db.session.execute(
            update(Order).where(Order.id == recent["id"]).values(created_at=utcnow() - timedelta(days=53))
        )
        db.session.commit()
    shop.register_conversions(recent, at=utcnow() - timedelta(days=53))
    shop.status(old, "PS_OS_REFUND")
    shop.status(recent, "PS_OS_REFUND")
    skipped = shop.decisions("google_ads", old)[-1]
    assert skipped["outcome"] == "skipped" and "55 days ago" in skipped["reason"] and "54 days" in skipped["reason"]
    assert [e["order_id"] for e in shop.events("google_ads")] == [recent["id"]]
    # The clock moves past day 54: not sent.
    shop.dispatch(only="google_ads", clock=lambda: utcnow() + timedelta(days=2))
    row = only(shop.events("google_ads"))
    assert row["status"] == "failed" and "window closed" in row["last_error"]
    assert shop.received("google_ads") == []


def test_ads_row_errors_fail_only_their_rows(shop):
    known, unknown, also_known = shop.order(), shop.order(), shop.order()
    shop.register_conversions(known, also_known)
    ids = [known["id"], unknown["id"], also_known["id"]]
    shop.send("POST", "/api/orders/bulk-status", {"order_ids": ids, "state_id": shop.states["PS_OS_REFUND"]})
    summary = shop.dispatch(only="google_ads")
    assert summary.requests == 1
    by_order = {e["order_id"]: e for e in shop.events("google_ads")}
    assert by_order[known["id"]]["status"] == "sent" and by_order[also_known["id"]]["status"] == "sent"
    failed = by_order[unknown["id"]]
    assert failed["status"] == "failed" and failed["last_error"].startswith("CONVERSION_NOT_FOUND")
    assert [r["error_code"] for r in shop.received("google_ads")] == [None, "CONVERSION_NOT_FOUND", None]


def test_ads_2001_adjustments_take_two_requests(shop, app):
    orders = [{"reference": f"REF{n:05d}", "id": None} for n in range(2001)]
    shop.register_conversions(*orders)
    when = (utcnow() - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S+00:00")
    with app.app_context():
        for n, order in enumerate(orders):
            adjustment = {
                "conversionAction": f"customers/{CUSTOMER}/conversionActions/{ACTION}",
                "adjustmentType": "RETRACTION",
                "adjustmentDateTime": when,
                "orderId": order["reference"],
            }
            db.session.add(
                OutboxEvent(
                    destination="google_ads",
                    target=CUSTOMER,
                    event_name="Retraction",
                    event_id=f"ads-{n}",
                    payload_json=json.dumps(adjustment),
                )
            )
        db.session.commit()
    summary = shop.dispatch(only="google_ads")
    assert (summary.sent, summary.requests) == (2001, 2)
    jobs = {r["job_id"] for r in shop.received("google_ads")}
    assert len(jobs) == 2


def test_ads_csv_follows_googles_template_and_is_spreadsheet_safe(shop, app):
    order = shop.order()
    shop.register_conversions(order)
    shop.slip_one_tshirt(order)
    shop.status(order, "Partially refunded")
    shop.status(order, "PS_OS_REFUND")
    shop.send("PUT", "/api/googleads/settings", {"conversion_name": '=HYPERLINK("http://x")'})
    text = shop.get("/api/googleads/adjustments.csv")
    lines = text.splitlines()
    assert lines[0] == "Parameters:TimeZone=Europe/Paris"
    rows = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
    assert rows[0] == [
        "Order ID",
        "Conversion Name",
        "Adjustment Time",
        "Adjustment Type",
        "Adjusted Value",
        "Adjusted Value Currency",
    ]
    assert [r[3] for r in rows[1:]] == ["RESTATE", "RETRACT"]
    assert rows[1][0] == order["reference"] and rows[1][4:] == ["43.68", "EUR"] and rows[2][4:] == ["", ""]
    assert rows[1][1].startswith("'=")
    datetime.strptime(rows[1][2], "%Y-%m-%d %H:%M:%S")


# --- settings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "secret", "shown"),
    [("/api/ga4/settings", "api_secret", "test…1234"), ("/api/googleads/settings", "oauth_refresh_token", "1//s…0Ads")],
)
def test_settings_api_masks_secrets_and_refuses_bad_input(api, shop, path, secret, shown):
    settings = api.get(path, "tester").get_json()
    assert settings[secret] == shown and settings["enabled"] is True
    assert api.put(path, {"enabled": False}, "tester").status_code == 403
    bad = {
        "trigger_state_ids": [2**63],
        "trigger_kinds": {"1": "half"},
        "base_url": "http://10.0.0.1/x",
        "enabled": "yes",
    }
    response = api.put(path, bad, "merchant")
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == set(bad)
    assert api.get(path, "tester").get_json() == settings
    assert api.put(path, {secret: ""}, "merchant").get_json()[secret] == shown  # empty keeps the stored secret


def test_an_unpaid_order_canceled_sends_nothing_and_both_decisions_say_why(shop):
    body = {
        "customer": {"email": "unpaid@example.fr", "firstname": "U", "lastname": "P", "country": "FR"},
        "lines": [{"product_id": shop.mug, "quantity": 1}],
        "currency": "EUR",
        "state_id": shop.states["PS_OS_BANKWIRE"],
    }
    order = shop.send("POST", "/api/orders", body, 201)
    shop.status(order, "PS_OS_CANCELED")
    for destination in ("ga4", "google_ads"):
        decision = shop.decisions(destination, order)[-1]
        assert decision["outcome"] == "skipped" and "never paid" in decision["reason"]
        assert shop.events(destination) == []


# --- what the log keeps of each request ------------------------------------------------------------


def attempt_rows(app, destination: str) -> list:
    from delivery.models import DeliveryAttempt

    with app.app_context():
        rows = db.session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.destination == destination)).all()
        db.session.expunge_all()
        return rows


def stored_text(row) -> str:
    """Everything an attempt row keeps about its request and answer, as one string."""
    return " ".join(
        str(value or "")
        for value in (row.request_url, row.request_body, row.request_headers, row.response_body, row.response_headers)
    )


def test_attempts_keep_request_and_answer_headers_without_ga4s_api_secret_or_ads_token(shop):
    order = shop.order()
    shop.status(order, "PS_OS_REFUND")
    assert shop.dispatch(only="ga4").sent == 1
    shop.register_conversions(order)
    assert shop.dispatch(only="google_ads").sent >= 1
    (ga4,) = attempt_rows(shop.app, "ga4")
    sent = dict(ga4.sent_headers)
    assert sent["Content-Type"].startswith("application/json") and sent["User-Agent"] == "pixelplus-shop/1.0"
    assert dict(ga4.answer_headers)  # the sandbox's answer headers are kept too
    # The API secret rides in GA4's query string: masked in the URL, nowhere in full.
    assert API_SECRET not in stored_text(ga4) and "api_secret=test…1234" in ga4.request_url
    for row in attempt_rows(shop.app, "google_ads"):
        sent = dict(row.sent_headers)
        scheme, _, token = sent["Authorization"].partition(" ")
        assert scheme == "Bearer" and "…" in token and len(token) == 9  # 4 + … + 4
        assert DEMO_GOOGLEADS_TOKEN not in stored_text(row)


# --- the sandbox knows the purchases of the demo (its stand-in for the conversion tag) ---------------


@pytest.fixture
def demo_sandbox(app, shop):
    """The module sends to the demo's embedded sandbox: GOOGLEADS_DEMO_BASE_URL is the live server's (make demo)."""
    app.config["GOOGLEADS_DEMO_BASE_URL"] = f"{shop.url}/sandbox/googleads"
    return shop


def known_conversions(shop) -> dict[str, dict]:
    return {c["order_id"]: c for c in shop.get("/sandbox/api/googleads/conversions")}


def test_ads_sandbox_knows_an_order_placed_over_the_api_and_applies_its_retraction(demo_sandbox):
    shop = demo_sandbox
    order = shop.order()
    known = known_conversions(shop)[order["reference"]]
    assert (known["customer_id"], known["conversion_action_id"]) == (CUSTOMER, ACTION)
    assert (known["value"], known["currency"]) == ("67.56", "EUR")  # 2 × 11.94 + 11.40 + 8.40 shipping
    shop.status(order, "PS_OS_REFUND")  # no register_conversions: the sandbox heard of it at checkout
    assert shop.dispatch(only="google_ads").sent == 1
    received = only(shop.received("google_ads"))
    assert received["applied"] is True and received["error_code"] is None
    assert only(shop.events("google_ads"))["status"] == "sent"


def test_ads_sandbox_knows_an_order_placed_on_the_storefront(demo_sandbox, app, client):
    from tests.test_storefront import add, checkout_form

    add(client, demo_sandbox.mug, "2")
    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        order = db.session.scalars(select(Order)).one()
        reference, placed_at = order.reference, order.created_at
    known = known_conversions(demo_sandbox)[reference]
    assert (known["value"], known["currency"]) == ("31.20", "EUR")  # 2 × 11.40 + 8.40 shipping
    assert datetime.fromisoformat(known["conversion_date_time"]) == placed_at.replace(microsecond=0)


def test_ads_sandbox_that_cannot_record_a_conversion_never_fails_the_checkout(demo_sandbox, app, caplog):
    """The tag's stand-in writes in a savepoint: a database error there is logged, and the order is placed."""
    first = demo_sandbox.order()
    assert first["reference"] in known_conversions(demo_sandbox)
    with app.app_context():  # a real failure: the sandbox's table is gone (renamed away: PostgreSQL keeps its keys)
        db.session.execute(text(f"ALTER TABLE {CONVERSIONS} RENAME TO {CONVERSIONS}_away"))
        db.session.commit()
    caplog.set_level("ERROR", logger="googleads.conversion_tag")
    order = demo_sandbox.order()  # 201 over HTTP, with its lines and totals (order() checks 67.56)
    assert f"order {order['reference']}: the Google Ads sandbox could not record the conversion" in caplog.text
    with app.app_context():
        placed = db.session.get(Order, order["id"])
        assert placed.reference == order["reference"] and len(placed.lines) == 2
        assert placed.current_state.key == "PS_OS_PAYMENT"
    # The rest of the checkout's transaction stood: the modules' decisions were recorded for the new order.
    assert demo_sandbox.decisions("google_ads", order)
    with app.app_context():  # as it was, for the teardown
        db.session.execute(text(f"ALTER TABLE {CONVERSIONS}_away RENAME TO {CONVERSIONS}"))
        db.session.commit()


CONVERSIONS = "sandbox_googleads_conversion"


@pytest.mark.parametrize("elsewhere", ["base_url", "sandbox_off"])
def test_ads_sandbox_hears_nothing_when_the_module_sends_elsewhere(demo_sandbox, app, elsewhere):
    if elsewhere == "base_url":
        # The module's base URL is not the demo's sandbox (as when a merchant points it at Google).
        app.config["GOOGLEADS_DEMO_BASE_URL"] = "https://googleads.googleapis.com"
    else:
        app.config["SANDBOX_ENABLED"] = False  # a production shop: no embedded sandbox to tell
    order = demo_sandbox.order()
    assert known_conversions(demo_sandbox) == {}
    demo_sandbox.status(order, "PS_OS_REFUND")
    demo_sandbox.dispatch(only="google_ads")
    assert only(demo_sandbox.received("google_ads"))["error_code"] == "CONVERSION_NOT_FOUND"


# --- the order page's GA4 and Google Ads panels ------------------------------------------------------


def panel_of(page: str, module: str) -> str:
    """The HTML of one module's panel on the order page."""
    start = page.index(f'data-module="{module}"')
    return page[start : page.index("</section>", start)]


def test_order_page_shows_each_destinations_decisions_events_and_money(demo_sandbox, app, client, auth):
    shop = demo_sandbox
    order = shop.order()
    shop.slip_one_tshirt(order)
    shop.status(order, "Partially refunded")  # 23.88 reported, then sent
    assert shop.dispatch(only="ga4").sent == 1 and shop.dispatch(only="google_ads").sent == 1
    shop.status(order, "PS_OS_REFUND")  # 67.56 − 23.88 = 43.68 left, queued, not sent yet
    with app.app_context():  # a remote's answer is shown as text, never as HTML
        db.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.destination == "ga4", OutboxEvent.status == "pending")
            .values(last_error="<script>alert(1)</script>")
        )
        db.session.commit()
    auth.login("admin")
    page = client.get(f"/admin/orders/{order['id']}").get_data(as_text=True)

    ga4, ads = panel_of(page, "ga4"), panel_of(page, "googleads")
    for panel, prefix, service in ((ga4, "ga4", "GA4"), (ads, "googleads", "Google Ads")):
        events, decisions = panel.split(f'id="{prefix}-decisions"')
        assert f'id="{prefix}-events"' in events
        assert events.count("<tr>") - 1 == 2  # the partial refund's event and the rest's (a header row first)
        assert decisions.count("<tr>") - 1 == 3  # the order placed, the partial refund, the refund
        assert f"Acknowledged by {service}: <strong>23.88 EUR" in panel
        assert "Waiting to be sent: <strong>43.68 EUR" in panel
        assert "Payment accepted → Partially refunded" in panel and "Partially refunded → Refunded" in panel
    assert f"ads-{order['reference']}-1" in ads and f"ads-{order['reference']}-1" not in ga4
    assert "RESTATEMENT to the new total 43.68 EUR" in ads and "RESTATEMENT" not in ga4
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in ga4 and "<script>alert(1)" not in page
    assert f"/admin/events?order_id={order['id']}&amp;destination=google_ads" in ads
    alone = client.get(f"/admin/orders/{order['id']}/panels/googleads")
    assert alone.status_code == 200 and "Acknowledged by Google Ads: <strong>23.88 EUR" in alone.get_data(as_text=True)


def test_the_refund_reason_reaches_ga4_and_meta_but_never_the_note(app, shop):
    from tests.pixelplus_support import use_sandbox

    use_sandbox(app, shop.url, trigger_state_ids=[shop.states["PS_OS_REFUND"]])
    order = shop.order()
    note = "card stolen from Jeanne Martin"
    body = {"state_id": shop.states["PS_OS_REFUND"], "reason": "fraudulent", "note": note}
    shop.send("POST", f"/api/orders/{order['id']}/status", body)
    assert shop.dispatch(only="ga4").sent == 1 and shop.dispatch(only="meta_capi").sent == 1
    ga4 = only(shop.received("ga4"))["event"]["params"]
    assert ga4["refund_reason"] == "fraudulent" and ga4["value"] == 67.56
    meta = only(shop.get("/sandbox/api/received"))["event"]["custom_data"]
    assert meta["refund_reason"] == "fraudulent" and meta["value"] == 67.56
    with app.app_context():
        payloads = [row.payload_json for row in db.session.scalars(select(OutboxEvent))]
    assert len(payloads) == 3 and not any(note in text for text in payloads)  # GA4, Google Ads, Meta: no note
    assert all(note not in json.dumps(hit) for hit in shop.received("ga4") + shop.get("/sandbox/api/received"))
