"""The storefront: catalog, cart, checkout validation, orders placed and the browser data they capture."""

import re
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from extensions import db
from shop import tracking
from shop.models import Customer, Order, Product
from shop.signals import order_status_changed, order_status_update

FBP_FORMAT = re.compile(r"fb\.1\.(\d{13})\.(\d{10})")
VISA_TEST = "4242 4242 4242 4242"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) StorefrontTest/1.0"


def checkout_form(**overrides) -> dict:
    """A valid checkout form for a French customer paying by bank wire."""
    form = {
        "email": "jeanne.martin@example.fr",
        "firstname": "Jeanne",
        "lastname": "Martin",
        "phone": "06 12 34 56 78",
        "city": "Saint-Étienne",
        "state": "",
        "postcode": "42000",
        "country": "FR",
        "payment": "bankwire",
    }
    form.update(overrides)
    return form


def card_form(**overrides) -> dict:
    """A valid checkout form paying by card."""
    next_year = datetime.now(UTC).year % 100 + 1
    card = {"payment": "card", "card_number": VISA_TEST, "card_expiry": f"12/{next_year:02d}", "card_cvc": "123"}
    return checkout_form(**{**card, **overrides})


def order_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order))


def only_order(app) -> Order:
    """The one order in the database, with what the assertions read loaded."""
    with app.app_context():
        order = db.session.scalars(select(Order)).one()
        _ = (order.current_state.key, order.payments, order.history, order.lines, order.customer.email)
        db.session.expunge_all()
        return order


@pytest.fixture
def products(shop_data):
    """Product ids: T-shirt (23.88 incl.), Mug (11.40 incl.), Poster."""
    return shop_data["product_ids"]


def add(client, product_id, quantity="1"):
    return client.post("/cart/add", data={"product_id": str(product_id), "quantity": quantity})


def cart_of(client) -> dict:
    with client.session_transaction() as session:
        return dict(session.get("cart", {}))


# --- catalog ---------------------------------------------------------------------------------------


def test_catalog_lists_active_products_with_price_tax_incl(app, client, products):
    with app.app_context():
        db.session.get(Product, products[2]).active = False
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "T-shirt" in page and "Mug" in page
    assert "Poster" not in page
    assert "€23.88" in page  # 19.90 + 20 % tax
    assert "€11.40" in page
    assert page.count("Add to cart</button>") == 2
    assert 'name="csrf_token"' in page
    assert 'href="/admin/login"' in page


def test_catalog_without_login_and_with_empty_catalog(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No products are on sale yet" in response.get_data(as_text=True)


# --- cart ------------------------------------------------------------------------------------------


def test_add_to_cart_accumulates_and_shows_the_count(client, products):
    add(client, products[0], "2")
    response = add(client, products[0], "1")
    assert response.status_code == 302
    assert cart_of(client) == {str(products[0]): 3}
    page = client.get("/").get_data(as_text=True)
    assert 'id="cart-count">3<' in page


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("abc", "must be a whole number"),
        ("2.5", "must be a whole number"),
        ("-1", "must be a whole number"),
        ("0", "must be from 1 to 99"),
        ("100", "must be from 1 to 99"),
        ("", "Please enter a quantity"),
    ],
)
def test_add_to_cart_refuses_bad_quantities(client, products, quantity, message):
    response = add(client, products[0], quantity)
    assert cart_of(client) == {}
    page = client.get(response.location).get_data(as_text=True)
    assert message in page


@pytest.mark.parametrize("product_id", ["999", "x", ""])
def test_add_to_cart_refuses_unknown_products(client, products, product_id):
    add(client, product_id)
    assert cart_of(client) == {}
    assert "That product is not available." in client.get("/").get_data(as_text=True)


def test_add_to_cart_refuses_inactive_product_and_going_over_99(app, client, products):
    with app.app_context():
        db.session.get(Product, products[2]).active = False
        db.session.commit()
    add(client, products[2])
    assert cart_of(client) == {}
    add(client, products[0], "98")
    add(client, products[0], "2")
    assert cart_of(client) == {str(products[0]): 98}
    assert "at most 99 of T-shirt" in client.get("/").get_data(as_text=True)


def test_cart_page_shows_lines_and_totals_with_shipping(client, products):
    add(client, products[0], "2")
    add(client, products[1], "1")
    page = client.get("/cart").get_data(as_text=True)
    # 2 × 23.88 + 11.40 = 59.16; shipping 7.00 + 20 % = 8.40; total 67.56
    assert "€47.76" in page
    assert "€59.16" in page
    assert "€8.40" in page
    assert 'id="cart-total">€67.56<' in page


def test_update_cart_quantities(client, products):
    add(client, products[0], "2")
    add(client, products[1], "1")
    client.post("/cart/update", data={f"quantity-{products[0]}": "5", f"quantity-{products[1]}": "3"})
    assert cart_of(client) == {str(products[0]): 5, str(products[1]): 3}


def test_update_cart_with_one_bad_quantity_changes_nothing(client, products):
    add(client, products[0], "2")
    add(client, products[1], "1")
    response = client.post("/cart/update", data={f"quantity-{products[0]}": "5", f"quantity-{products[1]}": "0"})
    assert cart_of(client) == {str(products[0]): 2, str(products[1]): 1}
    page = client.get(response.location).get_data(as_text=True)
    assert "The quantity for Mug must be from 1 to 99." in page
    assert "Your cart was not changed." in page


def test_remove_from_cart(client, products):
    add(client, products[0], "2")
    add(client, products[1], "1")
    response = client.post("/cart/remove", data={"product_id": str(products[0])})
    assert cart_of(client) == {str(products[1]): 1}
    assert "T-shirt was removed from your cart." in client.get(response.location).get_data(as_text=True)
    client.post("/cart/remove", data={"product_id": "nope"})
    assert cart_of(client) == {str(products[1]): 1}


def test_cart_drops_products_no_longer_sold(app, client, products):
    add(client, products[0], "2")
    add(client, products[1], "1")
    with app.app_context():
        db.session.get(Product, products[1]).active = False
        db.session.commit()
    page = client.get("/cart").get_data(as_text=True)
    assert "Mug is no longer available and was removed from your cart." in page
    assert cart_of(client) == {str(products[0]): 2}


def test_checkout_with_empty_cart_goes_back_to_the_cart(client, products):
    response = client.get("/checkout")
    assert response.status_code == 302
    assert response.location.endswith("/cart")
    client.post("/checkout", data=checkout_form())
    assert "Your cart is empty" in client.get("/cart").get_data(as_text=True)


# --- checkout validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "Please enter a valid e-mail address"),
        ({"email": ""}, "Please enter your e-mail address."),
        ({"firstname": ""}, "Please enter your first name."),
        ({"phone": "12"}, "This is not a valid phone number for France."),
        ({"phone": "(650) 555-1212"}, "This is not a valid phone number for France."),
        ({"phone": "hello"}, "Please enter a phone number"),
        ({"country": "XX"}, "Not a valid choice"),
        ({"postcode": "42<000>"}, "A postcode has only letters"),
        ({"payment": "cash"}, "Not a valid choice"),
    ],
)
def test_checkout_refuses_invalid_details(app, client, products, overrides, message):
    add(client, products[0])
    response = client.post("/checkout", data=checkout_form(**overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert "no order was placed" in page
    assert order_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 2  # shop_data's own
    assert cart_of(client) == {str(products[0]): 1}


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"card_number": "4242 4242 4242 4241"}, "This card number is not valid."),
        ({"card_number": "4242"}, "This card number is not valid."),
        ({"card_number": ""}, "Please enter the card number."),
        ({"card_expiry": "01/20"}, "This card has expired."),
        ({"card_expiry": "13/30"}, "Please enter the expiry date as MM/YY."),
        ({"card_expiry": "soon"}, "Please enter the expiry date as MM/YY."),
        ({"card_cvc": "12"}, "The CVC is the 3 or 4 digits"),
    ],
)
def test_checkout_refuses_bad_cards_and_never_echoes_them(app, client, products, overrides, field_message):
    add(client, products[0])
    response = client.post("/checkout", data=card_form(**overrides))
    page = response.get_data(as_text=True)
    assert field_message in page
    assert order_count(app) == 0
    # What was typed into the card fields is never shown again.
    for name in ("card_number", "card_expiry", "card_cvc"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        assert not re.search(r'value="[^"]', tag), tag


def test_card_expiring_this_month_is_still_valid(app, client, products):
    now = datetime.now(UTC)
    add(client, products[0])
    response = client.post("/checkout", data=card_form(card_expiry=f"{now.month:02d}/{now.year}"))
    assert response.status_code == 302
    assert order_count(app) == 1


def test_phone_in_international_format_and_us_national_format(app, client, products):
    add(client, products[0])
    client.post("/checkout", data=checkout_form(phone="+33 6 12 34 56 78"))
    add(client, products[0])
    client.post(
        "/checkout", data=checkout_form(phone="(650) 555-1212", country="US", state="CA", postcode="94025-1234")
    )
    with app.app_context():
        phones = db.session.scalars(select(Customer.phone).order_by(Customer.id)).all()[2:]
    assert phones == ["+33 6 12 34 56 78", "(650) 555-1212"]  # stored as typed


def test_bank_wire_with_missing_card_fields_is_fine(app, client, products):
    add(client, products[0])
    response = client.post("/checkout", data=checkout_form(card_number="garbage"))
    assert response.status_code == 302
    assert order_count(app) == 1


# --- orders placed ---------------------------------------------------------------------------------


@pytest.fixture
def status_signals():
    """Record every order-status-update and order-status-changed sent during the test."""
    sent = {"update": [], "changed": []}

    def on_update(order, **extra):
        sent["update"].append((order.reference, extra["new_state"].key))

    def on_changed(order, **extra):
        sent["changed"].append((order.reference, extra["old_state"], extra["new_state"].key))

    order_status_update.connect(on_update)
    order_status_changed.connect(on_changed)
    yield sent
    order_status_update.disconnect(on_update)
    order_status_changed.disconnect(on_changed)


def test_bank_wire_order_awaits_payment(app, client, products, status_signals):
    add(client, products[0], "2")
    add(client, products[1], "1")
    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 302
    order = only_order(app)
    assert response.location.endswith(f"/order-confirmation/{order.reference}")
    assert order.current_state.key == "PS_OS_BANKWIRE"
    assert order.valid is False
    assert order.payments == []
    assert order.payment_method == "Bank wire"
    assert order.currency == "EUR"
    assert [(ln.product_id, ln.quantity) for ln in order.lines] == [(products[0], 2), (products[1], 1)]
    assert order.total_paid_tax_incl == Decimal("67.56")
    assert order.customer.email == "jeanne.martin@example.fr"
    assert order.customer.phone == "06 12 34 56 78"
    assert (order.customer.city, order.customer.postcode, order.customer.country) == ("Saint-Étienne", "42000", "FR")
    assert len(order.history) == 1
    assert status_signals["update"] == [(order.reference, "PS_OS_BANKWIRE")]
    assert status_signals["changed"] == [(order.reference, None, "PS_OS_BANKWIRE")]
    assert cart_of(client) == {}

    page = client.get(response.location).get_data(as_text=True)
    assert order.reference in page
    assert "€67.56" in page
    assert 'id="bank-wire-instructions"' in page
    assert "IBAN" in page


def test_card_order_is_paid(app, client, products, status_signals):
    add(client, products[0], "1")
    response = client.post("/checkout", data=card_form())
    assert response.status_code == 302
    order = only_order(app)
    assert order.current_state.key == "PS_OS_PAYMENT"
    assert order.valid is True
    assert [(p.amount, p.method, p.currency) for p in order.payments] == [(Decimal("32.28"), "Card", "EUR")]
    assert len(order.history) == 1
    assert status_signals["update"] == [(order.reference, "PS_OS_PAYMENT")]
    assert status_signals["changed"] == [(order.reference, None, "PS_OS_PAYMENT")]
    page = client.get(response.location).get_data(as_text=True)
    assert "Your payment was accepted" in page
    assert "bank-wire-instructions" not in page
    assert "4242" not in page


def test_confirmation_only_for_orders_placed_from_this_browser(app, client, products, make_order):
    add(client, products[0])
    response = client.post("/checkout", data=checkout_form())
    assert client.get(response.location).status_code == 200
    other_id = make_order()
    with app.app_context():
        other = db.session.get(Order, other_id).reference
    assert client.get(f"/order-confirmation/{other}").status_code == 404
    assert client.get("/order-confirmation/NOPENOPE1").status_code == 404


def test_each_checkout_creates_a_guest_customer(app, client, products):
    for _ in range(2):
        add(client, products[0])
        client.post("/checkout", data=checkout_form())
    with app.app_context():
        customers = db.session.scalars(select(Customer).filter_by(email="jeanne.martin@example.fr")).all()
        assert len(customers) == 2


# --- browser data ----------------------------------------------------------------------------------


def test_landing_from_an_ad_is_captured_on_the_order(app, client, products):
    before_ms = time.time_ns() // 1_000_000
    landing = client.get(
        "/?fbclid=ABC&utm_source=facebook&utm_medium=cpc&utm_campaign=spring",
        headers={"User-Agent": BROWSER_UA},
    )
    after_ms = time.time_ns() // 1_000_000
    cookies = landing.headers.getlist("Set-Cookie")
    fbp_header = next(c for c in cookies if c.startswith("_fbp="))
    assert "Path=/" in fbp_header and "SameSite=Lax" in fbp_header and "Max-Age=7776000" in fbp_header
    assert "HttpOnly" not in fbp_header
    fbc_cookie = client.get_cookie("_fbc").value
    fbp_cookie = client.get_cookie("_fbp").value
    match = FBP_FORMAT.fullmatch(fbp_cookie)
    assert match and before_ms <= int(match.group(1)) <= after_ms
    fbc_match = re.fullmatch(r"fb\.1\.(\d{13})\.ABC", fbc_cookie)
    assert fbc_match and before_ms <= int(fbc_match.group(1)) <= after_ms

    # Later pages, without the parameters, change none of it (first touch).
    client.get("/?utm_source=newsletter", headers={"User-Agent": BROWSER_UA})
    add(client, products[0], "1")
    add(client, products[1], "1")
    client.get("/checkout", headers={"User-Agent": BROWSER_UA})
    response = client.post(
        "/checkout",
        data=card_form(),
        headers={"User-Agent": BROWSER_UA},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 302
    order = only_order(app)
    assert order.fbc == fbc_cookie
    assert order.fbp == fbp_cookie
    assert (order.utm_source, order.utm_medium, order.utm_campaign) == ("facebook", "cpc", "spring")
    assert order.client_user_agent == BROWSER_UA
    assert order.client_ip_address == "203.0.113.9"
    assert order.event_source_url == "http://localhost/checkout"
    assert order.has_browser_data


def test_existing_meta_cookies_are_reused(app, client, products):
    client.set_cookie("_fbp", "fb.1.1700000000000.1234567890")
    client.set_cookie("_fbc", "fb.1.1700000000000.OLDCLICK")
    landing = client.get("/")
    assert not [c for c in landing.headers.getlist("Set-Cookie") if c.startswith(("_fbp=", "_fbc="))]
    add(client, products[0])
    client.post("/checkout", data=checkout_form())
    order = only_order(app)
    assert order.fbp == "fb.1.1700000000000.1234567890"
    assert order.fbc == "fb.1.1700000000000.OLDCLICK"
    assert order.utm_source is None


def test_same_click_id_keeps_the_cookie_and_a_new_one_replaces_it(client, products):
    client.set_cookie("_fbc", "fb.1.1700000000000.ABC")
    client.get("/?fbclid=ABC")
    assert client.get_cookie("_fbc").value == "fb.1.1700000000000.ABC"
    client.get("/?fbclid=XYZ-9_z")
    assert re.fullmatch(r"fb\.1\.\d{13}\.XYZ-9_z", client.get_cookie("_fbc").value)


def test_malformed_meta_cookies_and_click_ids_are_not_passed_on(app, client, products):
    client.set_cookie("_fbp", "garbage")
    client.set_cookie("_fbc", "fb.1.x.ABC")
    client.get("/?fbclid=" + "A" * 300)
    assert FBP_FORMAT.fullmatch(client.get_cookie("_fbp").value)
    add(client, products[0])
    client.post("/checkout", data=checkout_form())
    order = only_order(app)
    assert FBP_FORMAT.fullmatch(order.fbp)
    assert order.fbc is None


def test_browser_without_cookies_still_gets_the_fbp_and_fbc_of_the_checkout_request(app, client, products):
    add(client, products[0])
    client.delete_cookie("_fbp")
    response = client.post("/checkout?fbclid=NOCOOKIE", data=checkout_form())
    order = only_order(app)
    assert FBP_FORMAT.fullmatch(order.fbp)
    assert re.fullmatch(r"fb\.1\.\d{13}\.NOCOOKIE", order.fbc)
    assert order.event_source_url == "http://localhost/checkout?fbclid=NOCOOKIE"
    assert any(c.startswith("_fbp=") for c in response.headers.getlist("Set-Cookie"))


def test_forwarded_for_header_is_ignored_by_default(app, client, products):
    add(client, products[0])
    client.post(
        "/checkout",
        data=checkout_form(),
        headers={"X-Forwarded-For": "198.51.100.1"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert only_order(app).client_ip_address == "10.0.0.2"


class TestBehindATrustedProxy:
    """With SHOP_TRUSTED_PROXIES=1 the client IP and the page URL come from the proxy's headers."""

    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "SHOP_TRUSTED_PROXIES": 1}

    def test_forwarded_headers_are_used(self, app, client, products):
        add(client, products[0])
        client.post(
            "/checkout",
            data=checkout_form(),
            headers={
                "X-Forwarded-For": "198.51.100.1",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "shop.example.com",
            },
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )
        order = only_order(app)
        assert order.client_ip_address == "198.51.100.1"
        assert order.event_source_url == "https://shop.example.com/checkout"


def test_fbp_format_and_click_id_helpers():
    assert FBP_FORMAT.fullmatch(tracking.new_fbp())
    assert tracking.is_fb_cookie_value("fb.1.1657051589577.1088522659.AQEAAQMB")
    assert not tracking.is_fb_cookie_value("fb.1.1657051589577")
    assert not tracking.is_fb_cookie_value(None)
