"""Revenue and refunds report: the rule on hand-made orders, a generated shop against an independent
computation, currencies kept apart, roles, hostile query arguments, the page and its CSV."""

import hashlib
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.dbtypes import utcnow
from extensions import db
from shop.models import Order, OrderState
from shop.refunds import issue_credit_slip
from shop.status import change_state
from tests.reports_support import expected_report, generate_shop

TODAY = utcnow().date()


def at(days_ago: int, hour: int = 12) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour), UTC)


def state(key: str) -> OrderState:
    return OrderState.by_key(key)


def report(api, role="merchant", **args):
    query = "&".join(f"{key}={value}" for key, value in args.items())
    response = api.get(f"/api/reports/refunds?{query}", role)
    assert response.status_code == 200, response.get_json()
    return {cur["currency"]: cur for cur in response.get_json()["currencies"]}


def test_a_slip_then_refunded_counts_what_was_paid_once_on_each_refund_date(app, api, make_order):
    # 2 T-shirts (23.88) + a mug (11.40) + shipping 8.40 = 67.56 EUR, paid 5 days ago.
    order_id = make_order("PS_OS_BANKWIRE")
    with app.app_context():
        order = db.session.get(Order, order_id)
        change_state(order, state("PS_OS_PAYMENT"), at=at(5))
        tshirt = next(line for line in order.lines if line.product_reference == "TSHIRT-01")
        issue_credit_slip(order, {tshirt.id: 1}, at=at(3))  # 23.88
        change_state(order, state("PS_OS_CANCELED"), at=at(2))  # 67.56 - 23.88 = 43.68 left
        change_state(order, state("PS_OS_REFUND"), at=at(1))  # nothing left: counted once
        db.session.commit()
    eur = report(api, group_by="day")["EUR"]
    days = {row["key"]: row for row in eur["rows"]}
    assert days[str(TODAY - timedelta(days=5))]["gross"] == "67.56"
    assert days[str(TODAY - timedelta(days=3))]["refunds"] == "23.88"
    assert days[str(TODAY - timedelta(days=2))]["refunds"] == "43.68"
    assert days[str(TODAY - timedelta(days=1))]["refunds"] == "0.00"
    assert eur["totals"]["refunds"] == "67.56"
    assert eur["totals"]["refund_count"] == 2
    assert eur["totals"]["refunded_orders"] == 1
    assert eur["totals"]["net"] == "0.00"
    assert eur["totals"]["refund_rate"] == "1.0000"
    assert len(eur["rows"]) == 30  # every day of the default period, empty ones too


def test_an_unpaid_order_canceled_gives_nothing_back(app, api, make_order):
    make_order("PS_OS_PAYMENT")  # 67.56 paid today
    unpaid = make_order("PS_OS_BANKWIRE")
    with app.app_context():
        change_state(db.session.get(Order, unpaid), state("PS_OS_CANCELED"))
        db.session.commit()
    totals = report(api)["EUR"]["totals"]
    assert (totals["gross"], totals["paid_orders"]) == ("67.56", 1)
    assert (totals["refunds"], totals["refund_count"], totals["refund_rate"]) == ("0.00", 0, "0.0000")


def test_a_refund_never_gives_back_more_than_was_paid(app, api, make_order):
    # A slip of two T-shirts and the shipping (2 × 23.88 + 8.40 = 56.16) on an order that had a 20.00
    # discount: paid 67.56 - 20.00 = 47.56, so the slip gives back 47.56 and Refunded nothing more.
    order_id = make_order("PS_OS_BANKWIRE")
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.total_discounts_tax_incl = Decimal("20.00")
        order.total_discounts_tax_excl = Decimal("16.67")
        change_state(order, state("PS_OS_PAYMENT"), at=at(4))
        tshirt = next(line for line in order.lines if line.product_reference == "TSHIRT-01")
        issue_credit_slip(order, {tshirt.id: 2}, refund_shipping=True, at=at(3))
        change_state(order, state("PS_OS_REFUND"), at=at(2))
        db.session.commit()
    totals = report(api)["EUR"]["totals"]
    assert (totals["gross"], totals["refunds"], totals["net"]) == ("47.56", "47.56", "0.00")


def test_a_chargeback_state_is_found_by_its_name_and_counted_apart(app, api, make_order):
    paid = make_order("PS_OS_PAYMENT")  # 67.56
    make_order("PS_OS_PAYMENT")
    with app.app_context():
        chargeback = OrderState(name="Chargeback", color="#E74C3C")
        db.session.add(chargeback)
        db.session.flush()
        change_state(db.session.get(Order, paid), chargeback)
        db.session.commit()
    totals = report(api)["EUR"]["totals"]
    assert (totals["chargebacks"], totals["chargeback_amount"]) == (1, "67.56")
    assert (totals["refunds"], totals["refunded_orders"]) == ("0.00", 0)
    assert totals["net"] == "67.56"  # 2 × 67.56 - 67.56


def test_source_and_campaign_come_from_the_order(app, api, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    make_order("PS_OS_PAYMENT")
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.utm_source, order.utm_campaign = "facebook", "black-friday"
        change_state(order, state("PS_OS_REFUND"))
        db.session.commit()
    by_source = {row["label"]: row for row in report(api, group_by="source")["EUR"]["rows"]}
    assert set(by_source) == {"facebook", "(none)"}
    assert (by_source["facebook"]["refunds"], by_source["facebook"]["refund_rate"]) == ("67.56", "1.0000")
    assert (by_source["(none)"]["refunds"], by_source["(none)"]["refund_rate"]) == ("0.00", "0.0000")
    by_campaign = {row["label"]: row for row in report(api, group_by="campaign")["EUR"]["rows"]}
    assert by_campaign["black-friday"]["net"] == "0.00"


def test_by_product_counts_slip_lines_and_what_no_slip_refunded(app, api, make_order):
    # Order: 2 T-shirts at 23.88 and a mug at 11.40. A slip for one T-shirt, then Refunded:
    # T-shirt gives back 23.88 (slip) + 23.88 (the unit no slip refunded), the mug 11.40.
    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        order = db.session.get(Order, order_id)
        tshirt = next(line for line in order.lines if line.product_reference == "TSHIRT-01")
        issue_credit_slip(order, {tshirt.id: 1})
        change_state(order, state("PS_OS_REFUND"))
        db.session.commit()
    rows = {row["label"]: row for row in report(api, group_by="product")["EUR"]["rows"]}
    assert (rows["TSHIRT-01 · T-shirt"]["gross"], rows["TSHIRT-01 · T-shirt"]["refunds"]) == ("47.76", "47.76")
    assert (rows["MUG-01 · Mug"]["gross"], rows["MUG-01 · Mug"]["refunds"]) == ("11.40", "11.40")
    assert rows["TSHIRT-01 · T-shirt"]["refunded_orders"] == 1


KEYS = {
    "day": lambda order, moment: moment.date().isoformat(),
    "source": lambda order, moment: order.utm_source or "",
    "campaign": lambda order, moment: order.utm_campaign or "",
}


def test_generated_shop_equals_an_independent_computation(app, api, shop_data):
    first_day = TODAY - timedelta(days=25)
    period_first, period_last = first_day + timedelta(days=3), TODAY
    with app.app_context():
        generate_shop(seed=18, orders=150, first_day=first_day)
        kinds = {entry.state.name for order in db.session.scalars(select(Order)) for entry in order.history}
        assert {"Chargeback", "Returned", "Canceled", "Refunded"} <= kinds  # the shop has every kind
        expected = {group_by: expected_report(period_first, period_last, KEYS[group_by]) for group_by in KEYS}
    for group_by, want in expected.items():
        got = report(api, "tester", group_by=group_by, **{"from": period_first, "to": period_last})
        _assert_report(got, want)


def _assert_report(got: dict, expected: dict) -> None:
    assert set(got) == set(expected["totals"]) == {"EUR", "USD", "GBP"}
    checked = 0
    for currency, figures in got.items():
        want = expected["totals"][currency]
        _assert_figures(figures["totals"], want)
        for row in figures["rows"]:
            want_row = expected["groups"].get((currency, row["key"]))
            if want_row is None:
                assert (row["gross"], row["refunds"], row["chargebacks"]) == ("0.00", "0.00", 0), row
                continue
            _assert_figures(row, want_row)
            checked += 1
        # Each currency's rows hold only its own money: they add up to its own totals.
        assert sum(Decimal(row["gross"]) for row in figures["rows"]) == want.gross
        assert sum(Decimal(row["refunds"]) for row in figures["rows"]) == want.refunds
        assert want.refunds > 0 and want.chargebacks  # something to compare in every currency
    assert checked == len(expected["groups"])


def _assert_figures(got: dict, want) -> None:
    assert got["gross"] == f"{want.gross:.2f}", got
    assert got["paid_orders"] == len(want.paid_orders), got
    assert got["refunds"] == f"{want.refunds:.2f}", got
    assert got["refund_count"] == want.refund_count, got
    assert got["refunded_orders"] == len(want.refunded_orders), got
    assert got["chargebacks"] == len(want.chargebacks), got
    assert got["chargeback_amount"] == f"{want.chargeback_amount:.2f}", got
    assert got["net"] == f"{want.gross - want.refunds - want.chargeback_amount:.2f}", got


def test_currencies_are_never_added_together(app, api, make_order):
    make_order("PS_OS_PAYMENT", currency="EUR")
    make_order("PS_OS_PAYMENT", currency="USD")
    usd = make_order("PS_OS_PAYMENT", currency="USD")
    with app.app_context():
        change_state(db.session.get(Order, usd), state("PS_OS_REFUND"))
        db.session.commit()
    for group_by in ("day", "source", "campaign", "product"):
        got = report(api, group_by=group_by)
        assert set(got) == {"EUR", "USD"}
        assert got["EUR"]["totals"]["refunds"] == "0.00"
        assert got["USD"]["totals"]["refunds"] != "0.00"
    got = report(api)
    assert (got["EUR"]["totals"]["gross"], got["USD"]["totals"]["gross"]) == ("67.56", "135.12")


def test_roles(api):
    assert api.get("/api/reports/refunds", "merchant").status_code == 200
    assert api.get("/api/reports/refunds", "tester").status_code == 200
    assert api.get("/api/reports/refunds", "superadmin").status_code == 200
    refused = api.get("/api/reports/refunds", "admin")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert api.client.get("/api/reports/refunds").status_code == 401


def test_a_nul_in_an_argument_is_refused_before_the_report(api):
    response = api.get("/api/reports/refunds?group_by=day%00", "tester")
    assert response.status_code == 400 and response.get_json()["error"]["code"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=9999-99-99", "from"),
        ("to=2026-02-30", "to"),
        ("from=" + str(2**63), "from"),
        ("to=-1", "to"),
        ("from=%ED%A0%80", "from"),  # a lone surrogate, percent-encoded
        ("group_by=%F0%9F%92%A5", "group_by"),
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("from=2020-01-01&to=2026-01-01", "from"),  # longer than a year
        ("to=9999-12-31", "to"),
        ("from=" + "9" * 10_000, "from"),
        ("from=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-01-01", "from"),  # fullwidth digits
    ],
)
def test_hostile_query_arguments_are_refused_with_the_argument(api, query, field):
    response = api.get(f"/api/reports/refunds?{query}", "tester")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]


def test_page_shows_each_currency_with_its_chart_and_the_definitions(app, auth, client, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    make_order("PS_OS_PAYMENT", currency="USD")
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.utm_source = "</script><script>alert(1)</script>"
        db.session.commit()
    auth.login("tester")
    page = client.get("/admin/reports/?group_by=source")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-currency="EUR"' in html and 'data-currency="USD"' in html
    assert 'id="chart-EUR-canvas" data-chart-spec=' in html and "chart.umd.min.js" in html
    assert "<script>alert(1)" not in html  # the label is escaped in the table and in the chart's spec
    assert "never more than what was paid" in html.lower() or "never gives back more than was paid" in html
    nav = client.get("/admin/orders").get_data(as_text=True)
    assert 'href="/admin/reports/"' in nav


def test_page_shows_form_errors_without_a_report(auth, client):
    auth.login("merchant")
    page = client.get("/admin/reports/?from=2026-13-01")
    assert page.status_code == 422
    assert "is not a date of the calendar" in page.get_data(as_text=True)


def test_admin_has_no_reports_page_nor_menu_entry(auth, client):
    auth.login("admin")
    assert client.get("/admin/reports/").status_code == 403
    assert 'href="/admin/reports/"' not in client.get("/admin/orders").get_data(as_text=True)


def test_csv_keeps_currencies_apart_and_neutralises_formulas(app, auth, client, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    make_order("PS_OS_PAYMENT", currency="USD")
    with app.app_context():
        db.session.get(Order, order_id).utm_source = '=HYPERLINK("http://evil.test")'
        db.session.commit()
    auth.login("merchant")
    response = client.get("/admin/reports/refunds.csv?group_by=source")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("currency,group_by,key,label,gross")
    assert any(line.startswith("EUR,source,\"'=HYPERLINK") for line in lines)
    totals = [line for line in lines if ",total,total," in line]
    assert [line.split(",")[0] for line in totals] == ["EUR", "USD"]
    assert all(",67.56," in line for line in totals)


def _refund(app, order_id: int, days_ago: int) -> None:
    with app.app_context():
        change_state(db.session.get(Order, order_id), state("PS_OS_REFUND"), at=at(days_ago) if days_ago else None)
        db.session.commit()


def test_serial_refunders_by_window_and_their_hashed_audience(app, api, auth, client, make_order):
    # Jeanne (customer 0, French phone 06 12 34 56 78) refunds 3 orders: 2 in the last 30 days, 1 at 60 days.
    # John (customer 1) refunds 1 order; an unpaid cancellation of Jeanne's counts for nothing.
    for days_ago in (2, 10, 60):
        order_id = make_order("PS_OS_BANKWIRE", customer_index=0)
        with app.app_context():
            change_state(db.session.get(Order, order_id), state("PS_OS_PAYMENT"), at=at(days_ago + 1))
            db.session.commit()
        _refund(app, order_id, days_ago)
    unpaid = make_order("PS_OS_BANKWIRE", customer_index=0)
    with app.app_context():
        change_state(db.session.get(Order, unpaid), state("PS_OS_CANCELED"))
        db.session.commit()
    _refund(app, make_order("PS_OS_PAYMENT", customer_index=1), 0)

    def emails(days, minimum):
        response = api.get(f"/api/reports/serial-refunders?days={days}&min_refunds={minimum}", "tester")
        assert response.status_code == 200
        return [(c["email"], c["refunds"]) for c in response.get_json()["customers"]]

    assert emails(30, 2) == [("jeanne.martin@example.fr", 2)]
    assert emails(90, 3) == [("jeanne.martin@example.fr", 3)]
    assert emails(30, 3) == []
    assert emails(30, 1) == [("jeanne.martin@example.fr", 2), ("john_smith@gmail.com", 1)]

    auth.login("merchant")
    csv = client.get("/admin/reports/serial-refunders.csv?days=90&min_refunds=3")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    # sha256("jeanne.martin@example.fr") and sha256("33612345678"), as Meta's rules normalise them.
    assert csv.get_data(as_text=True).splitlines() == [
        "EMAIL,PHONE",
        hashlib.sha256(b"jeanne.martin@example.fr").hexdigest() + "," + hashlib.sha256(b"33612345678").hexdigest(),
    ]
    page = client.get("/admin/reports/serial-refunders?days=90&min_refunds=3")
    assert page.status_code == 200 and "jeanne.martin@example.fr" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "query, field",
    [
        ("days=31", "days"),
        ("days=%ED%A0%80", "days"),
        ("min_refunds=0", "min_refunds"),
        ("min_refunds=" + str(2**63), "min_refunds"),
        ("min_refunds=%D9%A3", "min_refunds"),
        ("min_refunds=-2", "min_refunds"),
    ],
)
def test_serial_refunders_refuse_hostile_arguments(api, query, field):
    response = api.get(f"/api/reports/serial-refunders?{query}", "merchant")
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    assert api.get(f"/api/reports/serial-refunders?{query}", "admin").status_code == 403


def test_a_chargeback_recorded_as_a_slip_then_the_state_is_a_chargeback_not_a_refund(app, api, make_order):
    # As postbacks record a chargeback of 30.00 on a 67.56 order: a credit slip of 30.00, then Chargeback;
    # an earlier customer slip of 23.88 stays a refund, and the move gives back the 13.68 left.
    from postbacks.processing import chargeback_state
    from postbacks.slips import issue_amount_credit_slip

    order_id = make_order("PS_OS_BANKWIRE")
    with app.app_context():
        order = db.session.get(Order, order_id)
        change_state(order, state("PS_OS_PAYMENT"), at=at(6))
        tshirt = next(line for line in order.lines if line.product_reference == "TSHIRT-01")
        issue_credit_slip(order, {tshirt.id: 1}, at=at(5))
        issue_amount_credit_slip(order, Decimal("30.00"), at=at(2))
        change_state(order, chargeback_state(), at=at(2) + timedelta(seconds=1))
        db.session.commit()
    totals = report(api)["EUR"]["totals"]
    assert (totals["refunds"], totals["refund_count"], totals["refunded_orders"]) == ("23.88", 1, 1)
    assert (totals["chargebacks"], totals["chargeback_amount"]) == (1, "43.68")  # 30.00 + 13.68 left
    assert totals["net"] == "0.00"
    products = report(api, group_by="product")["EUR"]["totals"]
    assert products["refunds"] == "23.88"
    assert products["chargeback_amount"] == "35.28"  # the lines' 59.16 less the 23.88 slip; shipping is no product's


def test_csv_writes_a_negative_net_as_a_number(app, auth, client, make_order):
    order_id = make_order("PS_OS_BANKWIRE")
    with app.app_context():
        order = db.session.get(Order, order_id)
        change_state(order, state("PS_OS_PAYMENT"), at=at(3))
        change_state(order, state("PS_OS_REFUND"), at=at(1))  # that day: no sale, 67.56 given back
        db.session.commit()
    auth.login("tester")
    lines = client.get("/admin/reports/refunds.csv?group_by=day").get_data(as_text=True).splitlines()
    refund_day = next(line for line in lines if line.startswith(f"EUR,day,{TODAY - timedelta(days=1)},"))
    assert ",-67.56," in refund_day and "'-" not in refund_day
