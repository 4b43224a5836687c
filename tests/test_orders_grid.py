"""The orders grid: sort by a column (stable across pages), this month's KPI strip, CSV export of the filtered list."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from extensions import db
from shop.backoffice.order_kpis import month_kpis
from shop.models import Customer, Order, OrderLine, OrderState
from shop.refunds import issue_credit_slip
from shop.status import change_state


def listed_references(html: str) -> list[str]:
    return re.findall(r'/admin/orders/\d+" class="font-monospace">([A-Z]{9})<', html)


def order_fields(app, order_id: int) -> dict:
    with app.app_context():
        order = db.session.get(Order, order_id)
        return {"reference": order.reference, "total": order.total_paid_tax_incl}


@pytest.fixture
def five_orders(app, make_order):
    """Five orders of different totals, customers, states and dates (ids in creation order)."""
    ids = [
        make_order("PS_OS_PAYMENT", quantities=(2, 1, 0)),  # 67.56
        make_order("PS_OS_BANKWIRE", quantities=(1, 0, 0), customer_index=1),  # 32.28
        make_order("PS_OS_SHIPPING", quantities=(0, 1, 0)),  # 19.80
        make_order("PS_OS_CANCELED", quantities=(0, 0, 1), customer_index=1),  # 21.06
        make_order("PS_OS_PAYMENT", quantities=(3, 0, 0)),  # 80.04
    ]
    with app.app_context():
        for days_ago, order_id in zip((5, 4, 3, 2, 1), ids, strict=True):
            db.session.get(Order, order_id).created_at = datetime(2026, 11, 20, 12, tzinfo=UTC) - timedelta(days_ago)
        db.session.commit()
    return ids


def test_sort_by_total_both_ways(app, client, auth, five_orders):
    auth.login("admin")
    refs = {order_fields(app, i)["total"]: order_fields(app, i)["reference"] for i in five_orders}
    assert sorted(refs) == [Decimal("19.80"), Decimal("21.06"), Decimal("32.28"), Decimal("67.56"), Decimal("80.04")]
    ascending = listed_references(client.get("/admin/orders?sort=total&dir=asc").get_data(as_text=True))
    assert ascending == [refs[Decimal(t)] for t in ("19.80", "21.06", "32.28", "67.56", "80.04")]
    descending = listed_references(client.get("/admin/orders?sort=total&dir=desc").get_data(as_text=True))
    assert descending == list(reversed(ascending))


def test_sort_by_customer_state_payment_reference_and_date(app, client, auth, five_orders):
    auth.login("tester")
    by_id = [order_fields(app, i)["reference"] for i in five_orders]
    html = client.get("/admin/orders?sort=customer&dir=asc").get_data(as_text=True)
    # Martin (orders 1, 3, 5) before Smith (2, 4); equal names keep the id order
    assert listed_references(html) == [by_id[0], by_id[2], by_id[4], by_id[1], by_id[3]]
    html = client.get("/admin/orders?sort=state&dir=asc").get_data(as_text=True)
    # Awaiting bank wire payment, Canceled, Payment accepted (x2, id order), Shipped
    assert listed_references(html) == [by_id[1], by_id[3], by_id[0], by_id[4], by_id[2]]
    html = client.get("/admin/orders?sort=date&dir=asc").get_data(as_text=True)
    assert listed_references(html) == by_id
    html = client.get("/admin/orders?sort=reference&dir=desc").get_data(as_text=True)
    assert listed_references(html) == sorted(by_id, reverse=True)
    assert 'aria-sort="descending"' in html and html.count('aria-sort="none"') == 5


def test_sorted_pages_neither_repeat_nor_skip_orders_with_equal_values(app, client, auth, make_order):
    ids = [make_order("PS_OS_PAYMENT", quantities=(1, 0, 0)) for _ in range(7)]  # seven equal totals
    auth.login("admin")
    seen = []
    for page in (1, 2, 3, 4):
        html = client.get(f"/admin/orders?sort=total&dir=asc&per_page=20&page={page}").get_data(as_text=True)
        seen += listed_references(html)
    assert sorted(seen) == sorted(order_fields(app, i)["reference"] for i in ids)
    # ties are broken by id, the same way on every request
    first = listed_references(client.get("/admin/orders?sort=total&dir=asc").get_data(as_text=True))
    assert first == [order_fields(app, i)["reference"] for i in ids]


def test_column_header_links_toggle_and_keep_the_filters(client, auth, five_orders):
    auth.login("admin")
    html = client.get("/admin/orders?sort=total&dir=asc&customer=smith").get_data(as_text=True)
    total_link = re.search(
        r'<th scope="col" class="text-end" aria-sort="ascending"><a class="sort-link[^"]*" href="([^"]+)"', html
    )
    assert total_link, "the Total header shows the current sort"
    href = total_link.group(1).replace("&amp;", "&")
    assert "sort=total" in href and "dir=desc" in href and "customer=smith" in href
    # the filter form carries the sort along
    assert '<input type="hidden" name="sort" value="total">' in html
    assert '<input type="hidden" name="dir" value="asc">' in html


@pytest.mark.parametrize(
    "query",
    # A NUL anywhere in a query string is a 400 before any view (core/requestguards.py, tests/test_hostile_input.py).
    ["sort=total;DROP TABLE orders", "sort=__class__", "dir=sideways", "sort=" + "x" * 5000],
)
def test_unknown_sort_is_ignored_with_a_message(app, client, auth, five_orders, query):
    auth.login("admin")
    response = client.get(f"/admin/orders?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unknown sort order in the link" in html
    newest_first = [order_fields(app, i)["reference"] for i in reversed(five_orders)]
    assert listed_references(html) == newest_first
    with app.app_context():
        assert db.session.query(Order).count() == 5


def test_kpis_count_this_month_per_currency(app, make_order):
    eur_refunded = make_order("PS_OS_PAYMENT", quantities=(2, 1, 0))  # 67.56 EUR, paid
    make_order("PS_OS_PAYMENT", quantities=(1, 0, 0))  # 32.28 EUR, paid
    usd_slip = make_order("PS_OS_PAYMENT", quantities=(2, 1, 0), currency="USD")  # 67.56 USD, paid
    make_order("PS_OS_BANKWIRE", quantities=(2, 1, 0))  # 67.56 EUR, not paid: no sale
    with app.app_context():
        order = db.session.get(Order, eur_refunded)
        tshirt = next(line for line in order.lines if line.product_reference == "TSHIRT-01")
        issue_credit_slip(order, {tshirt.id: 1})  # 23.88
        change_state(order, OrderState.by_key("PS_OS_REFUND"))  # the rest: 67.56 - 23.88 = 43.68
        usd = db.session.get(Order, usd_slip)
        mug = db.session.scalar(db.select(OrderLine).filter_by(order_id=usd.id, product_reference="MUG-01"))
        issue_credit_slip(usd, {mug.id: 1})  # 11.40
        db.session.commit()
        kpis = month_kpis()
    assert kpis.orders == 4
    assert kpis.refunded_orders == 2
    assert kpis.sales == {"EUR": Decimal("99.84"), "USD": Decimal("67.56")}  # 67.56 + 32.28; 67.56
    assert kpis.refunded == {"EUR": Decimal("67.56"), "USD": Decimal("11.40")}  # 23.88 + 43.68; 11.40
    assert kpis.refund_rate("EUR") == Decimal("67.7")  # 67.56 / 99.84 = 67.67 %
    assert kpis.refund_rate("USD") == Decimal("16.9")  # 11.40 / 67.56 = 16.87 %
    assert kpis.refund_rate("GBP") is None


def test_kpis_leave_out_last_month(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.created_at = datetime(2026, 10, 31, 23, 59, tzinfo=UTC)
        db.session.commit()
        kpis = month_kpis(now=datetime(2026, 11, 1, 0, 1, tzinfo=UTC))
        earlier = month_kpis(now=datetime(2026, 10, 31, 23, 59, 30, tzinfo=UTC))
    assert kpis.orders == 0 and kpis.sales == {}
    assert earlier.orders == 1


def test_kpi_strip_on_the_orders_page(client, auth, make_order):
    make_order("PS_OS_PAYMENT", quantities=(2, 1, 0))
    make_order("PS_OS_PAYMENT", quantities=(2, 1, 0), currency="USD")
    auth.login("tester")
    html = client.get("/admin/orders").get_data(as_text=True)
    strip = html[html.index('id="order-kpis"') : html.index("</section>")]
    assert re.search(r'id="kpi-orders">2<', strip)
    assert re.search(
        r'<tr data-currency="EUR"><th scope="row">EUR</th><td class="text-end text-nowrap">67.56</td>', strip
    )
    assert re.search(
        r'<tr data-currency="USD"><th scope="row">USD</th><td class="text-end text-nowrap">67.56</td>', strip
    )
    assert "135.12" not in strip  # 67.56 EUR and 67.56 USD are never added up


def test_csv_export_of_the_filtered_sorted_list(app, client, auth, five_orders):
    with app.app_context():
        customer = db.session.scalar(db.select(Customer).filter_by(lastname="Smith"))
        customer.firstname = '=HYPERLINK("http://evil")'
        db.session.commit()
    auth.login("tester")
    response = client.get("/admin/orders/export.csv?customer=smith&sort=total&dir=desc")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "id", "reference", "created_at_utc", "customer", "email", "state", "total_paid_tax_incl", "currency", "payment"
    ]  # fmt: skip
    assert [row[6] for row in rows[1:]] == ["32.28", "21.06"]  # Smith's two orders, biggest first
    assert [row[5] for row in rows[1:]] == ["Awaiting bank wire payment", "Canceled"]
    assert rows[1][3].startswith("'=HYPERLINK")  # a spreadsheet reads it as text, not a formula
    assert rows[1][2] == "2026-11-16T12:00:00+00:00"


def test_csv_export_needs_a_login(client):
    assert client.get("/admin/orders/export.csv").status_code == 302
