"""The shop's JSON API: every endpoint's shapes, and its 400/401/403/404/409/422 answers."""

import copy
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from core.dbtypes import utcnow
from extensions import db
from shop.models import CreditSlip, Customer, Order, OrderHistory, OrderLine, OrderState, Product
from shop.signals import order_status_changed


def state_id(app, key: str) -> int:
    with app.app_context():
        return OrderState.by_key(key).id


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def new_order_body(shop_data, **changes) -> dict:
    body = {
        "customer": {
            "email": "marie.curie@example.fr",
            "firstname": "Marie",
            "lastname": "Curie",
            "phone": "06 12 34 56 78",
            "city": "Paris",
            "state": "",
            "postcode": "75005",
            "country": "FR",
        },
        "lines": [
            {"product_id": shop_data["product_ids"][0], "quantity": 2},
            {"product_id": shop_data["product_ids"][2], "quantity": 1},
        ],
        "currency": "EUR",
        "state_id": 2,
        "browser": {
            "client_ip_address": "203.0.113.9",
            "client_user_agent": "Mozilla/5.0 (X11; Linux x86_64) Test/1.0",
            "fbp": "fb.1.1700000000000.111",
            "fbc": "fb.1.1700000000000.IwAR-x",
            "event_source_url": "https://shop.test/checkout",
        },
    }
    body.update(changes)
    return body


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.json["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


# --- reading ---------------------------------------------------------------------------------------


def test_order_states(api):
    response = api.get("/api/order-states", role="tester")
    assert response.status_code == 200
    states = response.json
    assert len(states) == 13
    assert [s["id"] for s in states] == sorted(s["id"] for s in states)
    refunded = next(s for s in states if s["key"] == "PS_OS_REFUND")
    assert refunded == {
        "id": refunded["id"],
        "key": "PS_OS_REFUND",
        "name": "Refunded",
        "logable": False,
        "paid": False,
        "shipped": False,
        "delivery": False,
        "invoice": True,
        "send_email": True,
        "color": "#01B887",
        # PrestaShop's order_state.xml: every default is unremovable, Refunded mails the "refund" template.
        "module_name": None,
        "hidden": False,
        "unremovable": True,
        "pdf_invoice": False,
        "pdf_delivery": False,
        "template": "refund",
    }
    by_key = {s["key"]: s for s in states}
    assert by_key["PS_OS_BANKWIRE"]["module_name"] == "ps_wirepayment"
    assert by_key["PS_OS_PAYMENT"]["pdf_invoice"] is True and by_key["PS_OS_PAYMENT"]["template"] == "payment"
    assert by_key["PS_OS_DELIVERED"]["template"] is None


def test_products(api, shop_data):
    response = api.get("/api/products", role="merchant")
    assert response.status_code == 200
    products = {p["reference"]: p for p in response.json}
    assert set(products) == {"TSHIRT-01", "MUG-01", "POSTER-01"}
    tshirt = products["TSHIRT-01"]
    assert {"id", "reference", "name", "price_tax_excl", "price_tax_incl"} <= set(tshirt)
    assert (tshirt["price_tax_excl"], tshirt["price_tax_incl"]) == ("19.90", "23.88")
    assert products["POSTER-01"]["price_tax_incl"] == "12.66"


def test_order_shape(api, make_order):
    order_id = make_order("PS_OS_PAYMENT", quantities=(2, 1, 0))
    response = api.get(f"/api/orders/{order_id}", role="tester")
    assert response.status_code == 200
    order = response.json
    assert {
        "id",
        "reference",
        "currency",
        "valid",
        "current_state",
        "total_paid_tax_incl",
        "total_paid_tax_excl",
        "total_shipping_tax_incl",
        "lines",
        "history",
        "credit_slips",
    } <= set(order)
    assert order["id"] == order_id and len(order["reference"]) == 9 and order["reference"].isupper()
    assert order["valid"] is True and order["currency"] == "EUR"
    assert order["current_state"]["name"] == "Payment accepted"
    # 2 × 23.88 + 11.40 + 8.40 shipping; money is a string with two decimals.
    assert order["total_paid_tax_incl"] == "67.56"
    assert order["total_paid_tax_excl"] == "56.30"
    assert order["total_shipping_tax_incl"] == "8.40"
    line = order["lines"][0]
    assert {
        "id",
        "product_id",
        "product_reference",
        "quantity",
        "refunded_quantity",
        "unit_price_tax_incl",
        "unit_price_tax_excl",
    } <= set(line)
    assert (line["product_reference"], line["quantity"], line["refunded_quantity"]) == ("TSHIRT-01", 2, 0)
    assert line["unit_price_tax_incl"] == "23.88"
    [entry] = order["history"]
    assert entry["state_id"] == order["current_state"]["id"] and entry["employee"] is None
    assert entry["at"].endswith("+00:00")
    assert order["credit_slips"] == []


def test_unknown_order_is_404_json(api):
    assert_error(api.get("/api/orders/999999"), 404, "not_found")
    assert_error(api.post("/api/orders/999999/status", {"state_id": 2}), 404, "not_found")
    assert_error(api.post("/api/orders/999999/credit-slips", {"refund_shipping": True}), 404, "not_found")
    assert_error(api.get("/api/no-such-endpoint"), 404)


def test_wrong_method_is_405_json(api):
    assert_error(api.delete("/api/order-states"), 405)


def test_order_list_pages_and_filters(app, api, make_order):
    ids = [make_order("PS_OS_PAYMENT"), make_order("PS_OS_BANKWIRE"), make_order("PS_OS_PAYMENT")]
    first = api.get("/api/orders?limit=2").json
    assert [o["id"] for o in first["orders"]] == ids[:2] and first["next_after"] == ids[1]
    second = api.get(f"/api/orders?limit=2&after={first['next_after']}").json
    assert [o["id"] for o in second["orders"]] == ids[2:] and second["next_after"] is None
    paid = api.get(f"/api/orders?state_id={state_id(app, 'PS_OS_PAYMENT')}").json["orders"]
    assert [o["id"] for o in paid] == [ids[0], ids[2]]
    reference = paid[1]["reference"]
    found = api.get(f"/api/orders?reference={reference.lower()}").json["orders"]
    assert [o["id"] for o in found] == [ids[2]]
    assert found[0]["total_paid_tax_incl"] == "67.56" and found[0]["customer_email"]
    error = assert_error(api.get("/api/orders?limit=0&after=x"), 422, "invalid")
    assert set(error["fields"]) == {"limit", "after"}


# --- placing orders --------------------------------------------------------------------------------


def test_create_order(app, api, shop_data):
    seen = []
    order_status_changed.connect(receiver := lambda order, **kw: seen.append((kw["old_state"], kw["new_state"].key)))
    try:
        response = api.post("/api/orders", new_order_body(shop_data), role="admin")
    finally:
        order_status_changed.disconnect(receiver)
    assert response.status_code == 201, response.json
    order = response.json
    assert response.headers["Location"].endswith(f"/api/orders/{order['id']}")
    assert order["current_state"]["name"] == "Payment accepted" and order["valid"] is True
    # 2 × 23.88 + 12.66 + 8.40
    assert order["total_paid_tax_incl"] == "68.82" and order["amount_paid"] == "68.82"
    assert [(ln["product_reference"], ln["quantity"]) for ln in order["lines"]] == [("TSHIRT-01", 2), ("POSTER-01", 1)]
    assert order["history"][0]["employee"] == "admin@shop.test"
    assert order["customer"]["email"] == "marie.curie@example.fr" and order["customer"]["country"] == "FR"
    assert order["has_browser_data"] is True
    assert seen == [(None, "PS_OS_PAYMENT")]  # through place_order: the status signals fired
    with app.app_context():
        stored = db.session.get(Order, order["id"])
        assert stored.client_ip_address == "203.0.113.9" and stored.fbc == "fb.1.1700000000000.IwAR-x"
        assert stored.customer.phone == "06 12 34 56 78"


def test_create_order_reuses_a_customer_by_email(app, api, shop_data):
    first = api.post("/api/orders", new_order_body(shop_data)).json
    body = new_order_body(shop_data, browser=None, currency="usd")
    body["customer"]["email"] = "Marie.Curie@Example.FR"
    second = api.post("/api/orders", body).json
    assert second["customer"]["id"] == first["customer"]["id"]
    assert second["currency"] == "USD" and second["has_browser_data"] is False
    # Another address makes another customer: the first order keeps describing its buyer as they were.
    body["customer"]["city"] = "Lyon"
    third = api.post("/api/orders", body).json
    assert third["customer"]["id"] != first["customer"]["id"]
    assert api.get(f"/api/orders/{first['id']}").json["customer"]["city"] == "Paris"


def test_create_order_minimal_body(api, shop_data):
    body = {
        "customer": {"email": "a@example.com", "firstname": "A", "lastname": "B", "country": "us"},
        "lines": [{"product_id": shop_data["product_ids"][1], "quantity": 1}],
        "state_id": 10,
    }
    response = api.post("/api/orders", body)
    assert response.status_code == 201, response.json
    assert response.json["currency"] == "EUR" and response.json["customer"]["country"] == "US"
    assert response.json["valid"] is False and response.json["amount_paid"] == "0.00"


INVALID_ORDER_BODIES = [
    (lambda b: b["customer"].update(email="not-an-email"), "customer.email"),
    (lambda b: b["customer"].update(email=""), "customer.email"),
    (lambda b: b["customer"].pop("firstname"), "customer.firstname"),
    (lambda b: b["customer"].update(lastname=42), "customer.lastname"),
    (lambda b: b["customer"].update(country="XX"), "customer.country"),
    (lambda b: b["customer"].update(country="FRA"), "customer.country"),
    (lambda b: b["customer"].update(phone="12"), "customer.phone"),
    (lambda b: b["customer"].update(postcode="x" * 17), "customer.postcode"),
    (lambda b: b["customer"].update(nickname="Mimi"), "customer.nickname"),
    (lambda b: b.update(customer="marie"), "customer"),
    (lambda b: b.update(currency="EURO"), "currency"),
    (lambda b: b.update(currency="XYZ"), "currency"),
    (lambda b: b.update(currency=978), "currency"),
    (lambda b: b.update(lines=[]), "lines"),
    (lambda b: b.update(lines={"product_id": 1}), "lines"),
    (lambda b: b["lines"].append("mug"), "lines[2]"),
    (lambda b: b["lines"][0].update(product_id=999), "lines[0].product_id"),
    (lambda b: b["lines"][0].update(product_id="1"), "lines[0].product_id"),
    (lambda b: b["lines"][1].update(quantity=0), "lines[1].quantity"),
    (lambda b: b["lines"][1].update(quantity=-3), "lines[1].quantity"),
    (lambda b: b["lines"][1].update(quantity=1001), "lines[1].quantity"),
    (lambda b: b["lines"][1].update(quantity=1.5), "lines[1].quantity"),
    (lambda b: b["lines"][1].update(quantity="2"), "lines[1].quantity"),
    (lambda b: b["lines"][1].update(quantity=True), "lines[1].quantity"),
    (lambda b: b["lines"][1].pop("quantity"), "lines[1].quantity"),
    (lambda b: b["lines"][1].update(product_id=b["lines"][0]["product_id"]), "lines[1].product_id"),
    (lambda b: b.update(state_id=999), "state_id"),
    (lambda b: b.update(state_id="2"), "state_id"),
    (lambda b: b.pop("state_id"), "state_id"),
    (lambda b: b.update(browser="chrome"), "browser"),
    (lambda b: b["browser"].update(client_ip_address="300.1.2.3"), "browser.client_ip_address"),
    (lambda b: b["browser"].update(event_source_url="javascript:alert(1)"), "browser.event_source_url"),
    (lambda b: b["browser"].update(fbp=123), "browser.fbp"),
    (lambda b: b["browser"].update(user_agent="typo"), "browser.user_agent"),
    (lambda b: b.update(coupon="FREE"), "coupon"),
]


def test_create_order_invalid_fields(app, api, shop_data):
    """Each bad field answers 422 naming it; nothing is written (one app for all cases: fast)."""
    for change, field in INVALID_ORDER_BODIES:
        body = new_order_body(shop_data)
        change(body)
        response = api.post("/api/orders", body)
        assert response.status_code == 422, (field, response.json)
        error = assert_error(response, 422, "invalid")
        assert error["fields"].get(field), (field, error["fields"])
    assert (count(app, Order), count(app, Customer)) == (0, 2)


def test_create_order_reports_every_bad_field_at_once(api, shop_data):
    body = new_order_body(shop_data, currency="??", state_id=None)
    body["customer"]["email"] = "nope"
    body["lines"][0]["quantity"] = 0
    error = assert_error(api.post("/api/orders", body), 422)
    assert set(error["fields"]) == {"currency", "state_id", "customer.email", "lines[0].quantity"}


def test_an_inactive_product_cannot_be_ordered(app, api, shop_data):
    with app.app_context():
        db.session.get(Product, shop_data["product_ids"][0]).active = False
        db.session.commit()
    error = assert_error(api.post("/api/orders", new_order_body(shop_data)), 422)
    assert "not for sale" in error["fields"]["lines[0].product_id"]


# --- malformed bodies, keys and roles --------------------------------------------------------------

WRITE_ENDPOINTS = ["/api/orders", "/api/orders/{id}/status", "/api/orders/bulk-status", "/api/orders/{id}/credit-slips"]


MALFORMED_BODIES = [
    ("{not json", "application/json"),
    ('{"state_id": 2', "application/json"),
    ("[1, 2]", "application/json"),
    ('"text"', "application/json"),
    ("null", "application/json"),
    ("state_id=2", "application/x-www-form-urlencoded"),
    ('{"state_id": 2}', "text/plain"),
    ("", None),
]


def test_malformed_bodies_are_400(app, client, staff, make_order):
    order_id = make_order("PS_OS_BANKWIRE")
    before = (count(app, Order), count(app, OrderHistory), count(app, CreditSlip))
    for path in WRITE_ENDPOINTS:
        for data, content_type in MALFORMED_BODIES:
            headers = staff.headers("admin")
            if content_type:
                headers["Content-Type"] = content_type
            response = client.post(path.format(id=order_id), data=data, headers=headers)
            assert response.status_code == 400, (path, data, content_type, response.json)
            assert_error(response, 400, "malformed")
    assert (count(app, Order), count(app, OrderHistory), count(app, CreditSlip)) == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer ppk_not_a_key"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "ppk_not_a_key"},
    ],
)
def test_missing_or_bad_key_is_401(client, headers):
    assert_error(client.get("/api/order-states", headers=headers), 401, "unauthorized")
    assert_error(client.post("/api/orders/bulk-status", json={}, headers=headers), 401, "unauthorized")


def test_a_session_cookie_is_not_an_api_key(client, auth):
    auth.login("superadmin")
    assert_error(client.get("/api/order-states"), 401)


def test_an_inactive_employee_key_is_refused(app, client, staff):
    from shop.models import Employee

    with app.app_context():
        db.session.get(Employee, staff.ids["admin"]).active = False
        db.session.commit()
    assert_error(client.get("/api/order-states", headers=staff.headers("admin")), 401)


@pytest.mark.parametrize("role", ["merchant", "tester"])
def test_roles_without_orders_permission_are_403(app, api, make_order, shop_data, role):
    order_id = make_order("PS_OS_PAYMENT")
    line_id = api.get(f"/api/orders/{order_id}", role=role).json["lines"][0]["id"]
    before = (count(app, Order), count(app, OrderHistory), count(app, CreditSlip))
    assert_error(api.post("/api/orders", new_order_body(shop_data), role=role), 403, "forbidden")
    assert_error(api.post(f"/api/orders/{order_id}/status", {"state_id": 7}, role=role), 403)
    assert_error(api.post("/api/orders/bulk-status", {"order_ids": [order_id], "state_id": 7}, role=role), 403)
    body = {"lines": [{"order_line_id": line_id, "quantity": 1}]}
    assert_error(api.post(f"/api/orders/{order_id}/credit-slips", body, role=role), 403)
    assert (count(app, Order), count(app, OrderHistory), count(app, CreditSlip)) == before


# --- status changes --------------------------------------------------------------------------------


def test_change_status(app, api, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    refunded = state_id(app, "PS_OS_REFUND")
    response = api.post(f"/api/orders/{order_id}/status", {"state_id": refunded}, role="admin")
    assert response.status_code == 200
    order = response.json
    assert order["current_state"]["id"] == refunded and order["valid"] is False
    assert [h["state_id"] for h in order["history"]][-1] == refunded
    assert order["history"][-1]["employee"] == "admin@shop.test"


def test_change_status_to_the_same_state_is_409(app, api, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    before = count(app, OrderHistory)
    error = assert_error(api.post(f"/api/orders/{order_id}/status", {"state_id": state_id(app, "PS_OS_PAYMENT")}), 409)
    assert error["code"] == "already_assigned" and "Payment accepted" in error["message"]
    assert count(app, OrderHistory) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [({"state_id": 999}, "state_id"), ({"state_id": "7"}, "state_id"), ({}, "state_id"), ({"state": 7}, "state")],
)
def test_change_status_invalid_is_422(app, api, make_order, body, field):
    order_id = make_order("PS_OS_PAYMENT")
    error = assert_error(api.post(f"/api/orders/{order_id}/status", body), 422, "invalid")
    assert field in error["fields"]


def test_a_failing_receiver_writes_nothing(app, client, staff, shop_data):
    """Every write commits once at the end: an error midway leaves no partial order or customer."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode(order, **extra):
        raise RuntimeError("a module failed")

    before = (count(app, Order), count(app, Customer), count(app, OrderHistory))
    order_status_changed.connect(explode)
    try:
        response = client.post("/api/orders", json=new_order_body(shop_data), headers=staff.headers("admin"))
    finally:
        order_status_changed.disconnect(explode)
    assert_error(response, 500)
    assert (count(app, Order), count(app, Customer), count(app, OrderHistory)) == before


# --- bulk status changes ---------------------------------------------------------------------------


def test_bulk_status(app, api, make_order):
    a, b = make_order("PS_OS_BANKWIRE"), make_order("PS_OS_BANKWIRE")
    done = make_order("PS_OS_PAYMENT")
    paid = state_id(app, "PS_OS_PAYMENT")
    response = api.post("/api/orders/bulk-status", {"order_ids": [b, done, 424242, a, b], "state_id": paid})
    assert response.status_code == 200
    assert response.json["changed"] == [b, a]
    assert response.json["skipped"] == [
        {"id": done, "reason": "already in state Payment accepted"},
        {"id": 424242, "reason": "no such order"},
        {"id": b, "reason": "listed twice"},
    ]
    for order_id in (a, b):
        order = api.get(f"/api/orders/{order_id}").json
        assert order["current_state"]["id"] == paid and order["history"][-1]["employee"] == "superadmin@shop.test"


INVALID_BULK_BODIES = [
    ({"state_id": 2}, "order_ids"),
    ({"order_ids": [], "state_id": 2}, "order_ids"),
    ({"order_ids": 5, "state_id": 2}, "order_ids"),
    ({"order_ids": [1, "2"], "state_id": 2}, "order_ids"),
    ({"order_ids": [1, True], "state_id": 2}, "order_ids"),
    ({"order_ids": [1, 2.5], "state_id": 2}, "order_ids"),
    ({"order_ids": [0], "state_id": 2}, "order_ids"),
    ({"order_ids": list(range(1, 10_002)), "state_id": 2}, "order_ids"),
    ({"order_ids": [1], "state_id": 999}, "state_id"),
    ({"order_ids": [1]}, "state_id"),
    ({"order_ids": [1], "state_id": 2, "dry_run": True}, "dry_run"),
]


def test_bulk_status_invalid_is_422(app, api, make_order):
    make_order("PS_OS_BANKWIRE")
    before = count(app, OrderHistory)
    for body, field in INVALID_BULK_BODIES:
        response = api.post("/api/orders/bulk-status", body)
        assert response.status_code == 422, (body if len(str(body)) < 200 else field, response.json)
        assert field in assert_error(response, 422, "invalid")["fields"]
    assert count(app, OrderHistory) == before


def insert_orders(shop_data, states: list[OrderState]) -> list[int]:
    """Insert one-line orders in the given states with plain INSERTs (place_order is slower per order)."""
    product = db.session.get(Product, shop_data["product_ids"][0])
    now = utcnow()
    total_incl = product.price_tax_incl
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    rows = [
        {
            "reference": "BULK" + "".join(letters[(n // 26**k) % 26] for k in range(5)),
            "customer_id": shop_data["customer_ids"][0],
            "currency": "EUR",
            "payment_method": "Bank wire",
            "total_products_tax_excl": product.price_tax_excl,
            "total_products_tax_incl": total_incl,
            "total_shipping_tax_excl": Decimal("0"),
            "total_shipping_tax_incl": Decimal("0"),
            "valid": state.logable,
            "current_state_id": state.id,
            "created_at": now,
            "updated_at": now,
        }
        for n, state in enumerate(states)
    ]
    ids = list(db.session.scalars(insert(Order).returning(Order.id, sort_by_parameter_order=True), rows))
    db.session.execute(
        insert(OrderLine),
        [
            {
                "order_id": order_id,
                "product_id": product.id,
                "product_reference": product.reference,
                "product_name": product.name,
                "quantity": 1,
                "unit_price_tax_excl": product.price_tax_excl,
                "unit_price_tax_incl": total_incl,
            }
            for order_id in ids
        ],
    )
    db.session.execute(
        insert(OrderHistory),
        [{"order_id": order_id, "state_id": state.id, "at": now} for order_id, state in zip(ids, states, strict=True)],
    )
    db.session.commit()
    return ids


def test_bulk_status_of_a_thousand_orders(app, api, shop_data):
    """One request changes 1,000 orders and reports each of them."""
    with app.app_context():
        wire, paid = OrderState.by_key("PS_OS_BANKWIRE"), OrderState.by_key("PS_OS_PAYMENT")
        states = [paid if i % 100 == 0 else wire for i in range(1000)]
        ids = insert_orders(shop_data, states)
        paid_id = paid.id
    started = time.perf_counter()
    response = api.post("/api/orders/bulk-status", {"order_ids": ids, "state_id": paid_id}, role="admin")
    elapsed = time.perf_counter() - started
    print(f"\nbulk status change of 1,000 orders: {elapsed:.2f} s")
    assert response.status_code == 200
    result = response.json
    assert len(result["changed"]) + len(result["skipped"]) == 1000
    assert len(result["skipped"]) == 10 and all("already" in s["reason"] for s in result["skipped"])
    assert sorted(result["changed"] + [s["id"] for s in result["skipped"]]) == sorted(ids)
    assert result["changed"] == [i for n, i in enumerate(ids) if n % 100]  # list order kept
    with app.app_context():
        in_paid = db.session.scalar(select(func.count()).where(Order.current_state_id == paid_id))
        assert in_paid == 1000
        assert db.session.scalar(select(func.count()).select_from(OrderHistory)) == 1000 + 990


# --- credit slips ----------------------------------------------------------------------------------


@pytest.fixture
def delivered(app, make_order) -> dict:
    """A delivered order (2 T-shirts, 1 mug) as the API shows it."""
    order_id = make_order("PS_OS_DELIVERED", quantities=(2, 1, 0))
    with app.app_context():
        order = db.session.get(Order, order_id)
        return {"id": order_id, "lines": {line.product_reference: line.id for line in order.lines}}


def test_credit_slip(app, api, delivered):
    body = {"lines": [{"order_line_id": delivered["lines"]["TSHIRT-01"], "quantity": 1}], "refund_shipping": True}
    response = api.post(f"/api/orders/{delivered['id']}/credit-slips", body, role="admin")
    assert response.status_code == 201, response.json
    slip = response.json
    assert slip["order_id"] == delivered["id"] and slip["employee"] == "admin@shop.test"
    assert (slip["total_products_tax_incl"], slip["total_products_tax_excl"]) == ("23.88", "19.90")
    assert (slip["total_shipping_tax_incl"], slip["total_shipping_tax_excl"]) == ("8.40", "7.00")
    assert slip["amount_tax_incl"] == "32.28"
    assert slip["lines"] == [
        {
            "order_line_id": delivered["lines"]["TSHIRT-01"],
            "product_id": slip["lines"][0]["product_id"],
            "quantity": 1,
            "amount_tax_excl": "19.90",
            "amount_tax_incl": "23.88",
        }
    ]
    order = api.get(f"/api/orders/{delivered['id']}").json
    assert order["current_state"]["name"] == "Delivered" and len(order["history"]) == 1  # no status change
    assert order["refunded_total"] == "32.28" and order["credit_slips"][0]["id"] == slip["id"]
    tshirt = next(line for line in order["lines"] if line["product_reference"] == "TSHIRT-01")
    assert tshirt["refunded_quantity"] == 1


def test_credit_slip_over_refund_is_422_and_writes_nothing(app, api, delivered):
    path = f"/api/orders/{delivered['id']}/credit-slips"
    mug = delivered["lines"]["MUG-01"]
    assert api.post(path, {"lines": [{"order_line_id": mug, "quantity": 1}]}).status_code == 201
    error = assert_error(api.post(path, {"lines": [{"order_line_id": mug, "quantity": 1}]}), 422, "invalid")
    assert "only 0 of Mug" in error["fields"]["lines"]
    body = {"lines": [{"order_line_id": delivered["lines"]["TSHIRT-01"], "quantity": 3}], "refund_shipping": True}
    error = assert_error(api.post(path, body), 422)
    assert "only 2 of T-shirt" in error["fields"]["lines"]
    assert count(app, CreditSlip) == 1
    order = api.get(f"/api/orders/{delivered['id']}").json
    assert [line["refunded_quantity"] for line in order["lines"]] == [0, 1]
    assert order["refunded_total"] == "11.40"


def test_credit_slip_shipping_twice_is_422(api, delivered):
    path = f"/api/orders/{delivered['id']}/credit-slips"
    assert api.post(path, {"refund_shipping": True}).status_code == 201
    error = assert_error(api.post(path, {"refund_shipping": True}), 422)
    assert "already been refunded" in error["fields"]["refund_shipping"]


def test_credit_slip_line_of_another_order_is_422(api, delivered, make_order):
    other = make_order("PS_OS_PAYMENT", quantities=(0, 0, 1))
    other_line = api.get(f"/api/orders/{other}").json["lines"][0]["id"]
    body = {"lines": [{"order_line_id": other_line, "quantity": 1}]}
    error = assert_error(api.post(f"/api/orders/{delivered['id']}/credit-slips", body), 422)
    assert "not a line of order" in error["fields"]["lines"]


def test_a_partial_refund_with_amounts_part_of_the_shipping_and_a_voucher(app, api, delivered):
    body = {
        "lines": [
            {"order_line_id": delivered["lines"]["TSHIRT-01"], "quantity": 2, "amount": "30.00"},
            {"order_line_id": delivered["lines"]["MUG-01"], "quantity": 1, "amount": 5},
        ],
        "shipping_amount": "4.20",
        "voucher": True,
        "restock": True,
    }
    response = api.post(f"/api/orders/{delivered['id']}/credit-slips", body, role="admin")
    assert response.status_code == 201, response.json
    slip = response.json
    # 30.00 / 1.20 = 25.00; 5.00 / 1.20 = 4.17; 4.20 / 1.20 = 3.50
    assert (slip["total_products_tax_incl"], slip["total_products_tax_excl"]) == ("35.00", "29.17")
    assert (slip["total_shipping_tax_incl"], slip["total_shipping_tax_excl"]) == ("4.20", "3.50")
    assert (slip["amount"], slip["shipping_cost_amount"], slip["slip_type"]) == ("35.00", "4.20", 2)
    assert slip["voucher"]["amount_tax_incl"] == "39.20" and slip["voucher"]["credit_slip_id"] == slip["id"]
    order = api.get(f"/api/orders/{delivered['id']}").json
    tshirt = next(line for line in order["lines"] if line["product_reference"] == "TSHIRT-01")
    assert (tshirt["refunded_quantity"], tshirt["restocked_quantity"], tshirt["refundable_amount"]) == (2, 2, "17.76")
    assert order["refunded_total"] == "39.20" and order["vouchers"][0]["code"] == slip["voucher"]["code"]
    assert order["invoice_number"] == 1, "Delivered has invoice=1"


def test_a_voucher_only_refund_answers_without_a_slip(api, delivered):
    body = {
        "lines": [{"order_line_id": delivered["lines"]["MUG-01"], "quantity": 1}],
        "credit_slip": False,
        "voucher": True,
    }
    response = api.post(f"/api/orders/{delivered['id']}/credit-slips", body)
    assert response.status_code == 201, response.json
    assert response.json["credit_slip"] is None and response.json["voucher"]["amount_tax_incl"] == "11.40"
    assert api.get(f"/api/orders/{delivered['id']}").json["credit_slips"] == []


def test_returned_products_through_the_api(api, delivered):
    body = {"lines": [{"order_line_id": delivered["lines"]["MUG-01"], "quantity": 1}], "kind": "return"}
    assert api.post(f"/api/orders/{delivered['id']}/credit-slips", body).status_code == 201
    mug = next(line for line in api.get(f"/api/orders/{delivered['id']}").json["lines"] if line["quantity"] == 1)
    assert (mug["returned_quantity"], mug["refunded_quantity"]) == (1, 0)
    body["kind"] = "standard"
    error = assert_error(api.post(f"/api/orders/{delivered['id']}/credit-slips", body), 422, "invalid")
    assert "only offered before delivery" in error["fields"]["kind"]


def test_a_partial_refund_of_an_unpaid_order_is_422(app, api, make_order):
    order_id = make_order("PS_OS_BANKWIRE", quantities=(1, 0, 0))
    line_id = api.get(f"/api/orders/{order_id}").json["lines"][0]["id"]
    body = {"lines": [{"order_line_id": line_id, "quantity": 1}]}
    error = assert_error(api.post(f"/api/orders/{order_id}/credit-slips", body), 422, "invalid")
    assert "needs a paid order" in error["fields"]["kind"]
    assert count(app, CreditSlip) == 0


def test_an_amount_over_what_is_left_of_the_line_is_422(app, api, delivered):
    body = {"lines": [{"order_line_id": delivered["lines"]["MUG-01"], "quantity": 1, "amount": "11.41"}]}
    error = assert_error(api.post(f"/api/orders/{delivered['id']}/credit-slips", body), 422, "invalid")
    assert "at most 11.40 is left to refund on Mug" in error["fields"]["lines"]
    error = assert_error(api.post(f"/api/orders/{delivered['id']}/credit-slips", {"shipping_amount": "8.41"}), 422)
    assert "at most 8.40 of shipping" in error["fields"]["shipping_amount"]
    assert count(app, CreditSlip) == 0


INVALID_CREDIT_SLIP_BODIES = [
    ({}, "lines"),
    ({"lines": []}, "lines"),
    ({"lines": [], "refund_shipping": False}, "lines"),
    ({"lines": "all"}, "lines"),
    ({"lines": [5]}, "lines[0]"),
    ({"lines": [{"order_line_id": "MUG", "quantity": 1}]}, "lines[0].order_line_id"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 0}]}, "lines[0].quantity"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": -1}]}, "lines[0].quantity"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1.0}]}, "lines[0].quantity"),
    ({"lines": [{"order_line_id": "MUG-01"}]}, "lines[0].quantity"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": "five"}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": "5.001"}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": -5}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": "0"}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": True}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": "NaN"}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": "Infinity"}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": str(2**63)}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": "1e999999"}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": ["5"]}]}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "discount": "5"}]}, "lines[0].discount"),
    ({"lines": [{"order_line_id": 2**63, "quantity": 1}]}, "lines[0].order_line_id"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1, "amount": "5"}], "kind": "standard"}, "lines[0].amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1}], "kind": "everything"}, "kind"),
    ({"shipping_amount": "2.\ud800"}, "shipping_amount"),
    ({"shipping_amount": "-1"}, "shipping_amount"),
    ({"shipping_amount": "1.00", "refund_shipping": True}, "shipping_amount"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1}], "credit_slip": False}, "credit_slip"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1}], "voucher": "yes"}, "voucher"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1}], "restock": 1}, "restock"),
    (
        {"lines": [{"order_line_id": "MUG-01", "quantity": 1}, {"order_line_id": "MUG-01", "quantity": 1}]},
        "lines[1].order_line_id",
    ),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1}], "refund_shipping": "yes"}, "refund_shipping"),
    ({"lines": [{"order_line_id": "MUG-01", "quantity": 1}], "refund_shipping": 1}, "refund_shipping"),
    ({"refund_shipping": None}, "refund_shipping"),
]


def test_credit_slip_invalid_is_422(app, api, delivered):
    for body, field in copy.deepcopy(INVALID_CREDIT_SLIP_BODIES):
        for line in body.get("lines", []) if isinstance(body.get("lines"), list) else []:
            if isinstance(line, dict) and line.get("order_line_id") == "MUG-01":
                line["order_line_id"] = delivered["lines"]["MUG-01"]
        response = api.post(f"/api/orders/{delivered['id']}/credit-slips", body)
        assert response.status_code == 422, (body, response.json)
        assert field in assert_error(response, 422, "invalid")["fields"], (body, response.json)
    assert count(app, CreditSlip) == 0


def test_money_is_never_a_json_number(api, delivered):
    order = api.get(f"/api/orders/{delivered['id']}").json

    def numbers(value, path=""):
        if isinstance(value, dict):
            for key, item in value.items():
                yield from numbers(item, f"{path}.{key}")
        elif isinstance(value, list):
            for item in value:
                yield from numbers(item, path)
        elif isinstance(value, float):
            yield path

    assert list(numbers(order)) == []
    assert Decimal(order["total_paid_tax_incl"]) == Decimal("67.56")
