"""The back office's bulk "Change order status": selection, confirmation page, report, 1,000 orders at once."""

import re
from decimal import Decimal

from sqlalchemy import func, insert, select

from core.dbtypes import utcnow
from extensions import db
from shop.models import Order, OrderHistory, OrderLine, OrderState, Product
from shop.status import change_state


def state_id(app, key: str) -> int:
    with app.app_context():
        return OrderState.by_key(key).id


def states_of(app, order_ids) -> dict[int, str]:
    with app.app_context():
        rows = db.session.execute(
            select(Order.id, OrderState.key).join(Order.current_state).where(Order.id.in_(order_ids))
        )
        return dict(rows.all())


def history_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OrderHistory))


def letters(number: int) -> str:
    """A 9-letter order reference made from a number."""
    text = ""
    for _ in range(9):
        number, digit = divmod(number, 26)
        text = chr(ord("A") + digit) + text
    return text


def place_many(app, shop_data, count: int, state_key: str = "PS_OS_PAYMENT") -> list[int]:
    """Insert count paid one-line orders with their first history row, in bulk (place_order is too slow here)."""
    with app.app_context():
        product = db.session.get(Product, shop_data["product_ids"][1])
        state = OrderState.by_key(state_key)
        # Ids come from the database (PostgreSQL's sequences must advance); references identify the rows.
        first = db.session.scalar(select(func.count()).select_from(Order)) + 10**6
        references = [letters(first + index) for index in range(count)]
        now = utcnow()
        db.session.execute(
            insert(Order),
            [
                {
                    "reference": reference,
                    "customer_id": shop_data["customer_ids"][0],
                    "currency": "EUR",
                    "payment_method": "Card",
                    "total_products_tax_excl": product.price_tax_excl,
                    "total_products_tax_incl": product.price_tax_incl,
                    "total_shipping_tax_excl": Decimal("7.00"),
                    "total_shipping_tax_incl": Decimal("8.40"),
                    "valid": state.logable,
                    "current_state_id": state.id,
                    "created_at": now,
                    "updated_at": now,
                }
                for reference in references
            ],
        )
        ids = list(db.session.scalars(select(Order.id).where(Order.reference.in_(references)).order_by(Order.id)))
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
                    "unit_price_tax_incl": product.price_tax_incl,
                }
                for order_id in ids
            ],
        )
        db.session.execute(
            insert(OrderHistory), [{"order_id": order_id, "state_id": state.id, "at": now} for order_id in ids]
        )
        db.session.commit()
        return ids


def test_confirmation_page_lists_the_orders_and_changes_nothing(app, client, auth, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(10)]
    canceled = state_id(app, "PS_OS_CANCELED")
    before = history_count(app)
    auth.login("admin")
    response = client.post("/admin/orders/bulk-status", data={"order_ids": ids, "state_id": canceled})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Change 10 orders to Canceled?" in html
    with app.app_context():
        for order_id in ids:
            assert db.session.get(Order, order_id).reference in html
    # The confirm form carries exactly these ids and the target state; Cancel goes back to the list.
    assert re.search(r'name="order_ids" type="hidden" value="{}"'.format(",".join(map(str, ids))), html)
    assert re.search(rf'name="state_id" type="hidden" value="{canceled}"', html)
    assert 'href="/admin/orders">Cancel</a>' in html
    assert set(states_of(app, ids).values()) == {"PS_OS_PAYMENT"}
    assert history_count(app) == before


def test_confirm_changes_and_reports_changed_and_skipped_with_reasons(app, client, auth, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(8)] + [make_order("PS_OS_CANCELED") for _ in range(2)]
    canceled = state_id(app, "PS_OS_CANCELED")
    auth.login("admin")
    confirm = client.post("/admin/orders/bulk-status", data={"order_ids": ids, "state_id": canceled})
    assert "2 of them are already in this state and will be skipped" in confirm.get_data(as_text=True)
    response = client.post(
        "/admin/orders/bulk-status/confirm",
        data={"order_ids": ",".join(map(str, ids + [987654])), "state_id": canceled},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "8 order(s) changed to Canceled, 3 skipped." in html
    changed = html[html.index('id="bulk-changed"') :]
    skipped = html[html.index('id="bulk-skipped"') : html.index('id="bulk-changed"')]
    with app.app_context():
        references = {o.id: o.reference for o in db.session.scalars(select(Order).where(Order.id.in_(ids)))}
    for order_id in ids[:8]:
        assert references[order_id] in changed
    for order_id in ids[8:]:
        assert re.search(rf"{references[order_id]}</a></td>\s*<td>already in state Canceled</td>", skipped)
    assert re.search(r"#987654</td>\s*<td>no such order</td>", skipped)
    assert set(states_of(app, ids).values()) == {"PS_OS_CANCELED"}


def test_bulk_changes_run_in_list_order_with_the_employee(app, client, auth, make_order, staff):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(3)]
    refunded = state_id(app, "PS_OS_REFUND")
    auth.login("superadmin")
    client.post(
        "/admin/orders/bulk-status/confirm",
        data={"order_ids": ",".join(map(str, reversed(ids))), "state_id": refunded},
    )
    with app.app_context():
        rows = db.session.scalars(
            select(OrderHistory).where(OrderHistory.state_id == refunded).order_by(OrderHistory.id)
        ).all()
        assert [row.order_id for row in rows] == list(reversed(ids))
        assert {row.employee_id for row in rows} == {staff.ids["superadmin"]}


def test_bulk_needs_a_selection_and_a_known_state(app, client, auth, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("admin")
    response = client.post(
        "/admin/orders/bulk-status?customer=jeanne",
        data={"state_id": state_id(app, "PS_OS_CANCELED")},
        follow_redirects=False,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/orders?customer=jeanne"
    assert "Select at least one order." in client.get("/admin/orders").get_data(as_text=True)
    response = client.post("/admin/orders/bulk-status", data={"order_ids": [order_id], "state_id": 9999})
    assert response.status_code == 302
    response = client.post("/admin/orders/bulk-status", data={"order_ids": ["1; drop"], "state_id": 6})
    assert response.status_code == 302
    response = client.post("/admin/orders/bulk-status/confirm", data={"order_ids": str(order_id), "state_id": 9999})
    assert response.status_code == 302
    assert states_of(app, [order_id]) == {order_id: "PS_OS_PAYMENT"}


def test_all_matching_the_filter_takes_every_page(app, client, auth, make_order, shop_data):
    jeanne = place_many(app, shop_data, 60)
    john = make_order("PS_OS_PAYMENT", customer_index=1)
    canceled = state_id(app, "PS_OS_CANCELED")
    auth.login("admin")
    listing = client.get("/admin/orders", query_string={"customer": "jeanne"}).get_data(as_text=True)
    assert 'action="/admin/orders/bulk-status?customer=jeanne"' in listing
    assert "All 60 orders matching the filter" in listing
    confirm = client.post(
        "/admin/orders/bulk-status?customer=jeanne", data={"all_matching": "y", "state_id": canceled}
    ).get_data(as_text=True)
    assert "Change 60 orders to Canceled?" in confirm
    ids = re.search(r'name="order_ids" type="hidden" value="([\d,]+)"', confirm).group(1)
    assert sorted(map(int, ids.split(","))) == sorted(jeanne)
    report = client.post(
        "/admin/orders/bulk-status/confirm?customer=jeanne", data={"order_ids": ids, "state_id": canceled}
    )
    assert "60 order(s) changed to Canceled, 0 skipped." in report.get_data(as_text=True)
    assert 'href="/admin/orders?customer=jeanne"' in report.get_data(as_text=True)
    assert set(states_of(app, jeanne).values()) == {"PS_OS_CANCELED"}
    assert states_of(app, [john]) == {john: "PS_OS_PAYMENT"}


def test_a_thousand_orders_change_in_one_request_and_each_is_reported(app, client, auth, shop_data):
    ids = place_many(app, shop_data, 1000)
    canceled = state_id(app, "PS_OS_CANCELED")
    with app.app_context():
        already = db.session.get(Order, ids[0])
        change_state(already, db.session.get(OrderState, canceled))
        db.session.commit()
    auth.login("admin")
    response = client.post(
        "/admin/orders/bulk-status/confirm", data={"order_ids": ",".join(map(str, ids)), "state_id": canceled}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "999 order(s) changed to Canceled, 1 skipped." in html
    changed = html[html.index('id="bulk-changed"') :]
    assert len(re.findall(r'href="/admin/orders/\d+">[A-Z]{9}</a>', changed)) == 999
    assert "already in state Canceled" in html[: html.index('id="bulk-changed"')]
    assert set(states_of(app, ids).values()) == {"PS_OS_CANCELED"}
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(OrderHistory).where(OrderHistory.state_id == canceled))
            == 1000
        )
        assert all(order.valid is False for order in db.session.scalars(select(Order).where(Order.id.in_(ids))))


def test_select_all_and_bulk_bar_are_on_the_list(app, client, auth, make_order):
    make_order()
    auth.login("admin")
    html = client.get("/admin/orders").get_data(as_text=True)
    assert 'id="select-all"' in html and "data-select-all" in html
    assert 'name="bulk_change_status"' in html and "Change order status" in html
    assert "/static/js/app.js" in html
