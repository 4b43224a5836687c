"""The back office's orders: list filters and pagination, the order page, status changes, partial refunds, roles."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from markupsafe import Markup
from sqlalchemy import func, select

from extensions import db
from shop.models import CreditSlip, Order, OrderHistory, OrderState
from shop.modules import InstalledModule, register_module


def state_id(app, key: str) -> int:
    with app.app_context():
        return OrderState.by_key(key).id


def reference_of(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(Order, order_id).reference


def set_created_at(app, order_id: int, when: datetime) -> None:
    with app.app_context():
        db.session.get(Order, order_id).created_at = when
        db.session.commit()


def page_text(response) -> str:
    return response.get_data(as_text=True)


def listed_references(response) -> list[str]:
    """The order references of the list's rows, in order."""
    return re.findall(r'/admin/orders/\d+" class="font-monospace">([A-Z]{9})<', page_text(response))


# --- access -----------------------------------------------------------------------------------


def test_admin_root_redirects_to_orders(client, auth):
    auth.login("admin")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/orders")


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/orders")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_unknown_order_is_404(client, auth):
    auth.login("admin")
    assert client.get("/admin/orders/999999").status_code == 404


# --- list -------------------------------------------------------------------------------------


def test_list_shows_orders_newest_first_with_columns(app, client, auth, make_order):
    first = make_order("PS_OS_PAYMENT")
    second = make_order("PS_OS_BANKWIRE", customer_index=1, currency="USD")
    set_created_at(app, first, datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    set_created_at(app, second, datetime(2026, 3, 2, 14, 5, tzinfo=UTC))
    auth.login("admin")
    response = client.get("/admin/orders")
    html = page_text(response)
    assert response.status_code == 200
    assert listed_references(response) == [reference_of(app, second), reference_of(app, first)]
    # a human date on screen ("2 Mar, 14:05" or "2 Mar 2026" from another year), the exact UTC time on hover
    assert '<time datetime="2026-03-02T14:05:00+00:00" title="2026-03-02 14:05:00 UTC">2 Mar' in html
    assert "John Smith" in html and "John_Smith@gmail.com" in html
    # 2 T-shirts (23.88) + 1 mug (11.40) + shipping 8.40 = 67.56
    assert "67.56 EUR" in html and "67.56 USD" in html
    payment_accepted = state_id(app, "PS_OS_PAYMENT")
    assert f'<span class="badge state-badge" data-state-id="{payment_accepted}">Payment accepted</span>' in html
    assert "Card" in html and "Bank wire" in html
    assert "2 orders" in html
    assert 'class="table-responsive"' in html


def test_list_filters_by_state_reference_customer_and_date(app, client, auth, make_order):
    paid = make_order("PS_OS_PAYMENT", customer_index=0)
    unpaid = make_order("PS_OS_BANKWIRE", customer_index=1)
    old = make_order("PS_OS_PAYMENT", customer_index=1)
    set_created_at(app, paid, datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    set_created_at(app, unpaid, datetime(2026, 3, 11, 23, 59, tzinfo=UTC))
    set_created_at(app, old, datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    refs = {order_id: reference_of(app, order_id) for order_id in (paid, unpaid, old)}
    auth.login("tester")

    def listed(**args):
        return sorted(listed_references(client.get("/admin/orders", query_string=args)))

    assert listed(state=state_id(app, "PS_OS_BANKWIRE")) == [refs[unpaid]]
    assert listed(state=state_id(app, "PS_OS_PAYMENT")) == sorted([refs[paid], refs[old]])
    assert listed(reference=refs[paid].lower()) == [refs[paid]]
    assert listed(reference=refs[paid][2:7]) == [refs[paid]]
    assert listed(customer="jeanne") == [refs[paid]]
    assert listed(customer="john_smith@GMAIL") == sorted([refs[unpaid], refs[old]])
    assert listed(customer="Jeanne Martin") == [refs[paid]]
    assert listed(customer="%") == []  # LIKE wildcards are searched for literally
    assert listed(date_from="2026-03-01", date_to="2026-03-11") == sorted([refs[paid], refs[unpaid]])
    assert listed(date_from="2026-03-11") == [refs[unpaid]]
    assert listed(date_to="2026-01-31") == [refs[old]]
    assert listed(customer="smith", date_from="2026-02-01", state=state_id(app, "PS_OS_BANKWIRE")) == [refs[unpaid]]


def test_bad_filter_shows_a_message_and_is_ignored(app, client, auth, make_order):
    make_order()
    auth.login("admin")
    response = client.get("/admin/orders", query_string={"date_from": "2026-03-10", "date_to": "2026-03-01"})
    assert response.status_code == 200
    assert "The end date is before the start date." in page_text(response)
    response = client.get("/admin/orders", query_string={"date_from": "not-a-date", "state": "abc"})
    assert response.status_code == 200
    assert len(listed_references(response)) == 1


def test_list_paginates_and_keeps_filters_in_page_links(app, client, auth, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(25)]
    auth.login("admin")
    first = client.get("/admin/orders", query_string={"per_page": 20, "customer": "jeanne"})
    html = page_text(first)
    assert len(listed_references(first)) == 20
    assert "25 orders" in html
    assert "page 1 of 2" in html
    assert re.search(r'href="/admin/orders\?page=2&amp;[^"]*customer=jeanne', html)
    second = client.get("/admin/orders", query_string={"per_page": 20, "customer": "jeanne", "page": 2})
    assert len(listed_references(second)) == 5
    shown = set(listed_references(first)) | set(listed_references(second))
    assert shown == {reference_of(app, order_id) for order_id in ids}
    # Default page size is 50; a page past the end is empty, not an error.
    assert len(listed_references(client.get("/admin/orders"))) == 25
    assert client.get("/admin/orders", query_string={"page": 9}).status_code == 200


def test_row_status_form_changes_the_order_and_comes_back_to_the_list(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    listing = page_text(client.get("/admin/orders"))
    assert f'id="row-status-{order_id}"' in listing
    canceled = state_id(app, "PS_OS_CANCELED")
    response = client.post(
        f"/admin/orders/{order_id}/status",
        data={"state_id": canceled, "next": "/admin/orders?customer=jeanne"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/orders?customer=jeanne"
    with app.app_context():
        assert db.session.get(Order, order_id).current_state_id == canceled


def test_status_form_refuses_an_offsite_next(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    response = client.post(
        f"/admin/orders/{order_id}/status",
        data={"state_id": state_id(app, "PS_OS_SHIPPING"), "next": "https://evil.example/"},
    )
    assert response.headers["Location"] == f"/admin/orders/{order_id}"


# --- order page -------------------------------------------------------------------------------


def test_order_page_shows_lines_totals_payments_history_and_browser_data(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT", quantities=(2, 1, 3))
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.utm_source, order.utm_medium, order.utm_campaign = "facebook", "cpc", "spring-sale"
        db.session.commit()
    auth.login("admin")
    response = client.get(f"/admin/orders/{order_id}")
    html = page_text(response)
    assert response.status_code == 200
    assert reference_of(app, order_id) in html
    # Lines: reference, name, quantity, unit prices excl/incl, line total.
    for text in ("TSHIRT-01", "T-shirt", "19.90 EUR", "23.88 EUR", "47.76 EUR", "POSTER-01", "12.66 EUR", "37.98 EUR"):
        assert text in html
    # Totals: products excl 39.80+9.50+36.00=85.30, incl 47.76+11.40+37.98=97.14, shipping 8.40, paid 105.54.
    for text in ("85.30 EUR", "97.14 EUR", "8.40 EUR", "105.54 EUR", "0.00 EUR"):
        assert text in html
    # The payment recorded when the order entered "Payment accepted", and the history row.
    payments = html[html.index('id="payments"') :]
    assert "105.54 EUR" in payments and "Card" in payments
    history = html[html.index('id="history"') :]
    assert "Payment accepted" in history and "UTC" in history
    # Browser data captured at checkout.
    browser = html[html.index('id="browser-data"') :]
    for text in (
        "203.0.113.7",
        "TestBrowser/1.0",
        "fb.1.1700000000000.1234567890",
        "fb.1.1700000000000.IwAR-test",
        "https://shop.test/checkout",
        "facebook",
        "cpc",
        "spring-sale",
    ):
        assert text in browser
    # The status select offers every state but the current one.
    start = html.index('id="order-status-select"')
    status = html[start : html.index("</select>", start)]
    assert "Payment accepted" not in status and "Refunded" in status and "Canceled" in status


def test_order_without_browser_data_says_so(app, client, auth, make_order):
    order_id = make_order(browser=False)
    auth.login("admin")
    assert "system_generated" in page_text(client.get(f"/admin/orders/{order_id}"))


def test_status_change_adds_history_row_and_flash(app, client, auth, make_order, staff):
    order_id = make_order("PS_OS_PAYMENT")
    refunded = state_id(app, "PS_OS_REFUND")
    auth.login("admin")
    response = client.post(f"/admin/orders/{order_id}/status", data={"state_id": refunded}, follow_redirects=True)
    html = page_text(response)
    assert response.status_code == 200
    assert f"Status changed to Refunded (order {reference_of(app, order_id)})." in html
    assert re.search(r'id="order-state"><span class="badge state-badge"[^>]*>Refunded</span>', html)
    history = html[html.index('id="history"') :]
    assert history.index("Refunded") < history.index("Payment accepted")  # newest first
    assert "admin@shop.test" in history
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.current_state_id == refunded and order.valid is False
        rows = db.session.scalars(select(OrderHistory).filter_by(order_id=order_id).order_by(OrderHistory.id)).all()
        assert [row.state_id for row in rows][-1] == refunded
        assert rows[-1].employee_id == staff.ids["admin"]


def test_status_already_assigned_is_an_error_and_changes_nothing(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    response = client.post(
        f"/admin/orders/{order_id}/status",
        data={"state_id": state_id(app, "PS_OS_PAYMENT")},
        follow_redirects=True,
    )
    assert "is already in state Payment accepted" in page_text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrderHistory).filter_by(order_id=order_id)) == 1


def test_status_form_with_unknown_state_changes_nothing(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    response = client.post(f"/admin/orders/{order_id}/status", data={"state_id": 9999}, follow_redirects=True)
    assert "New status: Not a valid choice" in page_text(response)
    with app.app_context():
        assert db.session.get(Order, order_id).current_state_id == state_id(app, "PS_OS_PAYMENT")


# --- partial refunds --------------------------------------------------------------------------


def line_ids(app, order_id: int) -> list[int]:
    with app.app_context():
        return [line.id for line in db.session.get(Order, order_id).lines]


def test_credit_slip_for_one_line_of_a_three_line_order(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT", quantities=(2, 1, 3))
    lines = line_ids(app, order_id)
    auth.login("admin")
    page = page_text(client.get(f"/admin/orders/{order_id}"))
    for line_id in lines:
        assert f'<label class="form-label small" for="line_{line_id}">' in page
    response = client.post(
        f"/admin/orders/{order_id}/credit-slips",
        data={f"line_{lines[0]}": "1", f"line_{lines[1]}": "0", f"line_{lines[2]}": ""},
        follow_redirects=True,
    )
    html = page_text(response)
    assert response.status_code == 200
    assert "refunded (the order&#39;s status is unchanged)" in html
    assert re.search(rf'data-line-id="{lines[0]}">.*?data-refunded-quantity>1<', html, re.S)
    assert re.search(rf'data-line-id="{lines[2]}">.*?data-refunded-quantity>0<', html, re.S)
    slips = html[html.index('id="credit-slips"') :]
    assert "1 × T-shirt (23.88 EUR)" in slips
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.refunded_total == Decimal("23.88")
        assert order.current_state.key == "PS_OS_PAYMENT"


def test_shipping_refund_then_checkbox_is_disabled(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    response = client.post(f"/admin/orders/{order_id}/credit-slips", data={"refund_shipping": "y"})
    assert response.status_code == 302
    html = page_text(client.get(f"/admin/orders/{order_id}"))
    assert re.search(r'<input[^>]*disabled[^>]*id="refund_shipping"|<input[^>]*id="refund_shipping"[^>]*disabled', html)
    assert "The shipping has already been refunded." in html
    # Forcing it anyway is refused by the service, with the message on the field.
    response = client.post(f"/admin/orders/{order_id}/credit-slips", data={"refund_shipping": "y"})
    assert response.status_code == 422
    assert "the shipping has already been refunded" in page_text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CreditSlip)) == 1


def test_over_refund_is_refused_with_a_message_and_nothing_saved(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT", quantities=(2, 1, 0))
    first, second = line_ids(app, order_id)
    auth.login("admin")
    response = client.post(f"/admin/orders/{order_id}/credit-slips", data={f"line_{first}": "3", f"line_{second}": "1"})
    html = page_text(response)
    assert response.status_code == 422
    assert "Enter 0 to 2: only 2 can still be refunded." in html
    assert 'value="3"' in html  # what was typed stays in the field
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CreditSlip)) == 0
        assert [line.refunded_quantity for line in db.session.get(Order, order_id).lines] == [0, 0]


@pytest.mark.parametrize("data", [{}, {"line_X": "1"}])
def test_empty_refund_is_refused(app, client, auth, make_order, data):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    response = client.post(f"/admin/orders/{order_id}/credit-slips", data=data)
    assert response.status_code == 422
    assert "choose at least one product quantity or the shipping to refund" in page_text(response)


def test_negative_or_non_numeric_quantities_are_refused(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    first, second = line_ids(app, order_id)
    auth.login("admin")
    response = client.post(
        f"/admin/orders/{order_id}/credit-slips", data={f"line_{first}": "-1", f"line_{second}": "two"}
    )
    html = page_text(response)
    assert response.status_code == 422
    assert "Enter 0 to 2" in html and "Not a valid integer value." in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CreditSlip)) == 0


def test_a_partial_refund_form_takes_amounts_part_of_the_shipping_and_a_voucher(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT", quantities=(2, 1, 0))
    tshirt, mug = line_ids(app, order_id)
    auth.login("admin")
    page = page_text(client.get(f"/admin/orders/{order_id}"))
    assert f'for="amount_{tshirt}"' in page and 'id="shipping_amount"' in page and "Up to 47.76 EUR left" in page
    response = client.post(
        f"/admin/orders/{order_id}/credit-slips",
        data={
            f"line_{tshirt}": "1",
            f"amount_{tshirt}": "12.00",
            f"line_{mug}": "1",
            "shipping_amount": "2.40",
            "kind": "partial",
            "refund_with": "both",
        },
        follow_redirects=True,
    )
    html = page_text(response)
    assert response.status_code == 200, html
    assert "Credit slip #" in html and "voucher V" in html and "25.80 EUR refunded" in html  # 12.00 + 11.40 + 2.40
    assert 'id="vouchers"' in html
    with app.app_context():
        slip = db.session.scalar(select(CreditSlip))
        # 12.00 / 1.20 = 10.00; the mug at its price 9.50; 2.40 / 1.20 = 2.00
        assert (slip.total_products_tax_incl, slip.total_products_tax_excl) == (Decimal("23.40"), Decimal("19.50"))
        assert (slip.total_shipping_tax_incl, slip.total_shipping_tax_excl) == (Decimal("2.40"), Decimal("2.00"))
        assert (slip.amount, slip.shipping_cost_amount, slip.slip_type) == (Decimal("23.40"), Decimal("2.40"), 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "12.00"}, "Enter the quantity this amount refunds."),
        ({"line": "1", "amount": "47.77"}, "Enter an amount from 0.01 to 47.76"),
        ({"line": "1", "amount": "NaN"}, "Enter an amount in cents"),
        ({"line": "1", "amount": "1e9999"}, "Enter an amount in cents, at most 1000000000."),
        ({"line": "1", "amount": "-1e-9999"}, "Enter an amount in cents, e.g. 12.30."),
        ({"line": "1", "amount": "1.005"}, "Enter an amount in cents"),
        ({"line": "1", "amount": "x"}, "Not a valid decimal value"),
        ({"line": "1", "amount": "5.00", "kind": "standard"}, "Amounts are entered only in a partial refund."),
        ({"shipping_amount": "8.41"}, "at most 8.40 of shipping is left to refund"),
        ({"shipping_amount": "1.00", "refund_shipping": "y"}, "Either tick"),
        ({"line": "1", "refund_with": "nothing"}, "Not a valid choice"),
        ({"line": "1", "kind": "return"}, "products can be returned once the order has been delivered"),
    ],
)
def test_bad_refund_forms_are_refused_and_change_nothing(app, client, auth, make_order, data, message):
    order_id = make_order("PS_OS_PAYMENT", quantities=(2, 1, 0))
    tshirt, _ = line_ids(app, order_id)
    auth.login("admin")
    form = {key: value for key, value in data.items() if key not in ("line", "amount")}
    if "line" in data:
        form[f"line_{tshirt}"] = data["line"]
    if "amount" in data:
        form[f"amount_{tshirt}"] = data["amount"]
    response = client.post(f"/admin/orders/{order_id}/credit-slips", data=form)
    assert response.status_code == 422
    assert message in page_text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CreditSlip)) == 0
        assert [line.refunded_quantity for line in db.session.get(Order, order_id).lines] == [0, 0]


def test_the_order_page_shows_the_invoice_and_what_refunds_are_offered(app, client, auth, make_order):
    paid, unpaid = make_order("PS_OS_PAYMENT"), make_order("PS_OS_BANKWIRE")
    auth.login("admin")
    html = page_text(client.get(f"/admin/orders/{paid}"))
    assert "#IN000001" in html
    assert re.search(r'data-refund-kind="partial">partial <span class="text-success">\(yes\)', html)
    assert "a standard refund needs an invoice" not in html
    html = page_text(client.get(f"/admin/orders/{unpaid}"))
    assert "none yet" in html and "a partial refund needs a paid order" in html


# --- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["tester", "merchant"])
def test_read_only_roles_see_no_forms_and_get_403(app, client, auth, make_order, role):
    order_id = make_order("PS_OS_PAYMENT")
    first = line_ids(app, order_id)[0]
    auth.login(role)
    listing = page_text(client.get("/admin/orders"))
    assert reference_of(app, order_id) in listing
    assert 'name="order_ids"' not in listing and "Change order status" not in listing
    assert "row-status-" not in listing
    page = page_text(client.get(f"/admin/orders/{order_id}"))
    assert "Update status" not in page and "Issue refund" not in page and 'name="state_id"' not in page
    canceled = state_id(app, "PS_OS_CANCELED")
    forced = [
        client.post(f"/admin/orders/{order_id}/status", data={"state_id": canceled}),
        client.post(f"/admin/orders/{order_id}/credit-slips", data={f"line_{first}": "1"}),
        client.post("/admin/orders/bulk-status", data={"order_ids": [order_id], "state_id": canceled}),
        client.post("/admin/orders/bulk-status/confirm", data={"order_ids": str(order_id), "state_id": canceled}),
    ]
    assert [response.status_code for response in forced] == [403, 403, 403, 403]
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.current_state.key == "PS_OS_PAYMENT" and not order.credit_slips


def test_admin_sees_the_forms(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    listing = page_text(client.get("/admin/orders"))
    assert 'name="order_ids"' in listing and "Change order status" in listing
    page = page_text(client.get(f"/admin/orders/{order_id}"))
    assert "Update status" in page and "Issue refund" in page


def test_every_field_has_a_label_and_every_button_a_name(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("superadmin")
    for path in ("/admin/orders", f"/admin/orders/{order_id}"):
        html = page_text(client.get(path))
        labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if 'type="hidden"' in tag:
                continue
            field_id = re.search(r'id="([^"]+)"', tag)
            assert field_id and field_id.group(1) in labelled, f"{path}: no label for {tag}"
        for tag, inner in re.findall(r"(<button\b[^>]*>)(.*?)</button>", html, re.S):
            accessible_name = re.sub(r"<[^>]+>", "", inner).strip() or re.search(r'aria-label="([^"]+)"', tag)
            assert accessible_name, f"{path}: button without a name {tag}"


# --- module panels ----------------------------------------------------------------------------


def test_module_panels_render_and_a_broken_one_does_not_break_the_page(app, client, auth, make_order, caplog):
    def panel(order):
        return Markup("<p class='fake-panel'>Refund event for {}: fired</p>").format(order.reference)

    def broken(order):
        raise RuntimeError("boom")

    register_module(app, InstalledModule("fakemod", "Fake module", "1.0", "A test module.", admin_order_panel=panel))
    register_module(app, InstalledModule("brokenmod", "Broken module", "0.1", "Fails.", admin_order_panel=broken))
    register_module(app, InstalledModule("quietmod", "Quiet module", "0.1", "No panel."))
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("tester")
    response = client.get(f"/admin/orders/{order_id}")
    html = page_text(response)
    assert response.status_code == 200
    assert f"<p class='fake-panel'>Refund event for {reference_of(app, order_id)}: fired</p>" in html
    assert "The module Broken module could not show its panel" in html
    assert "boom" not in html
    assert "Quiet module" not in html
    assert any("brokenmod" in record.getMessage() for record in caplog.records)
