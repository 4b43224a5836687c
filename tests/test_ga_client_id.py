"""Checkout stores GA4's client id from the _ga cookie, creating the cookie when the storefront has none."""

import re
import time

import pytest
from sqlalchemy import select

from extensions import db
from shop.models import Order
from tests.test_storefront import add, checkout_form


def placed_client_id(app) -> str | None:
    with app.app_context():
        return db.session.scalars(select(Order)).one().ga_client_id


def test_a_browser_without_ga_cookie_gets_one_and_the_order_its_client_id(app, client, shop_data):
    before = int(time.time())
    landing = client.get("/")
    header = next(c for c in landing.headers.getlist("Set-Cookie") if c.startswith("_ga="))
    assert "HttpOnly" not in header and "Path=/" in header and "Max-Age=34560000" in header
    match = re.fullmatch(r"GA1\.1\.(\d{9,10})\.(\d{10})", client.get_cookie("_ga").value)
    assert match and before <= int(match.group(2)) <= int(time.time())
    add(client, shop_data["product_ids"][0])
    client.post("/checkout", data=checkout_form())
    assert placed_client_id(app) == f"{match.group(1)}.{match.group(2)}"


def test_an_existing_ga_cookie_is_kept_and_its_client_id_stored(app, client, shop_data):
    client.set_cookie("_ga", "GA1.2.1111111111.1700000000")
    landing = client.get("/")
    assert not [c for c in landing.headers.getlist("Set-Cookie") if c.startswith("_ga=")]
    add(client, shop_data["product_ids"][0])
    client.post("/checkout", data=checkout_form())
    assert placed_client_id(app) == "1111111111.1700000000"


@pytest.mark.parametrize("cookie", ["garbage", "GA1.1.=1.2", "GA1.1.123", "GA1.1." + "9" * 30 + ".1"])
def test_a_malformed_ga_cookie_is_replaced(client, cookie):
    client.set_cookie("_ga", cookie)
    client.get("/")
    assert re.fullmatch(r"GA1\.1\.\d+\.\d+", client.get_cookie("_ga").value)


def test_the_api_accepts_a_client_id_and_refuses_a_malformed_one(api, shop_data):
    body = {
        "customer": {"email": "a@example.com", "firstname": "A", "lastname": "B", "country": "FR"},
        "lines": [{"product_id": shop_data["product_ids"][0], "quantity": 1}],
        "currency": "EUR",
        "browser": {"ga_client_id": "123.456"},
    }
    states = api.get("/api/order-states").get_json()
    body["state_id"] = next(s["id"] for s in states if s["name"] == "Payment accepted")
    assert api.post("/api/orders", body, "admin").status_code == 201
    body["browser"]["ga_client_id"] = "GA1.1.123.456"
    response = api.post("/api/orders", body, "admin")
    assert response.status_code == 422 and "browser.ga_client_id" in response.get_json()["error"]["fields"]
