"""The reports' summary rows: the fast reports equal a brute-force computation from the raw rows, before and
after changes made behind the summary's back (the shop's own functions, raw SQL inserts, updates and deletes),
orders paid or refunded on several days are counted once, and a rebuild gives the rows the roll-ups gave."""

import threading
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text

from core.dbtypes import utcnow
from extensions import db
from reports.models import ReportChange, ReportDay, ReportFact
from reports.summary import rebuild, refresh
from shop.models import CreditSlip, Order, OrderState, Payment
from shop.refunds import issue_credit_slip
from shop.status import change_state
from tests.reports_support import expected_products, expected_report, generate_shop
from tests.test_reports import KEYS, _assert_figures

TODAY = utcnow().date()
FIRST_DAY = TODAY - timedelta(days=25)
PERIOD = {"from": FIRST_DAY + timedelta(days=3), "to": TODAY}


def at(days_ago: int, hour: int = 12) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour), UTC)


def report(api, **args) -> dict:
    query = "&".join(f"{key}={value}" for key, value in args.items())
    response = api.get(f"/api/reports/refunds?{query}", "tester")
    assert response.status_code == 200, response.get_json()
    return {cur["currency"]: cur for cur in response.get_json()["currencies"]}


def assert_matches_brute_force(api) -> int:
    """Every grouping of the period equals the computation from the raw rows; return the rows compared."""
    first, last = PERIOD["from"], PERIOD["to"]
    with db.session.no_autoflush:
        expected = {group_by: expected_report(first, last, KEYS[group_by]) for group_by in KEYS}
        expected["product"] = expected_products(first, last)
        db.session.rollback()
    compared = 0
    for group_by, want in expected.items():
        got = report(api, group_by=group_by, **PERIOD)
        assert set(got) == set(want["totals"]), group_by
        for currency, figures in got.items():
            _assert_figures(figures["totals"], want["totals"][currency])
            keys = {row["key"] for row in figures["rows"]}
            wanted = {str(key) for cur, key in want["groups"] if cur == currency}
            assert wanted <= keys, (group_by, currency)
            for row in figures["rows"]:
                want_row = want["groups"].get((currency, row["key"] if group_by != "product" else int(row["key"])))
                if want_row is None:  # a day without anything (the chart's axis has every day)
                    assert (row["gross"], row["refunds"], row["paid_orders"]) == ("0.00", "0.00", 0), row
                    continue
                _assert_figures(row, want_row)
                compared += 1
    return compared


def serial_expected(days: int, minimum: int) -> dict[str, tuple[int, int]]:
    """Serial refunders from the raw rows: {email: (refunds, refunded orders)} in the last days days."""
    by_email = expected_report(
        TODAY - timedelta(days=days - 1), TODAY, lambda order, _at: order.customer.email.strip().lower()
    )["groups"]
    found: dict[str, tuple[int, set]] = {}
    for (_currency, email), figures in by_email.items():
        count, orders = found.get(email, (0, set()))
        found[email] = (count + figures.refund_count, orders | figures.refunded_orders)
    return {email: (count, len(orders)) for email, (count, orders) in found.items() if count >= minimum}


def serial(api, days: int, minimum: int) -> dict[str, tuple[int, int]]:
    response = api.get(f"/api/reports/serial-refunders?days={days}&min_refunds={minimum}", "tester")
    assert response.status_code == 200
    return {c["email"]: (c["refunds"], c["refunded_orders"]) for c in response.get_json()["customers"]}


def summary_rows() -> set:
    """Every fact and daily sum, as plain tuples (to compare two builds)."""
    facts = {tuple(row) for row in db.session.execute(select(*ReportFact.__table__.c))}
    days = {tuple(row) for row in db.session.execute(select(*ReportDay.__table__.c))}
    return facts | days


def test_fast_reports_equal_brute_force_before_and_after_changes_behind_the_summary(app, api, shop_data):
    with app.app_context():
        generate_shop(seed=180, orders=120, first_day=FIRST_DAY)
        rebuild()
        assert db.session.scalar(select(func.count()).select_from(ReportChange)) == 0
        assert db.session.scalar(select(func.count()).select_from(ReportDay)) > 0
    with app.app_context():
        assert assert_matches_brute_force(api) > 50
        for days in (30, 90):
            assert serial(api, days, 2) == serial_expected(days, 2)

    with app.app_context():
        states = {s.key or s.name: s for s in db.session.scalars(select(OrderState))}
        orders = list(db.session.scalars(select(Order).order_by(Order.id)))
        paid = [o for o in orders if o.payments and not o.credit_slips and o.current_state.key == "PS_OS_PAYMENT"]
        unpaid = [o for o in orders if not o.payments]
        slipped = [o for o in orders if o.credit_slips]
        # Through the shop: a slip dated in the middle of the period on an order paid before it,
        # an unpaid order paid then refunded, and a chargeback after a slip.
        line = paid[0].lines[0]
        issue_credit_slip(paid[0], {line.id: 1}, at=at(10))
        change_state(unpaid[0], states["PS_OS_PAYMENT"], at=at(8))
        change_state(unpaid[0], states["PS_OS_REFUND"], at=at(6))
        change_state(paid[1], states["Chargeback"], at=at(1))
        db.session.commit()
        # Behind the shop's back, as an import would: a second payment on another day (the order is
        # counted once), another traffic source, a credit slip deleted, a payment moved to another day.
        db.session.execute(
            text("INSERT INTO payment (order_id, amount, currency, method, at) VALUES (:o, 1234, :c, 'Card', :at)"),
            {"o": paid[2].id, "c": paid[2].currency, "at": at(2).strftime("%Y-%m-%d %H:%M:%S.000000")},
        )
        db.session.execute(text("UPDATE orders SET utm_source = 'imported' WHERE id = :o"), {"o": paid[3].id})
        gone = slipped[0].credit_slips[0].id
        db.session.execute(text("DELETE FROM credit_slip_line WHERE credit_slip_id = :s"), {"s": gone})
        for table in ("voucher", "decision"):
            db.session.execute(text(f"DELETE FROM {table} WHERE credit_slip_id = :s"), {"s": gone})  # noqa: S608
        db.session.execute(text("DELETE FROM credit_slip WHERE id = :s"), {"s": gone})
        moved = paid[4].payments[0].id
        db.session.execute(
            text("UPDATE payment SET at = :at WHERE id = :p"), {"p": moved, "at": at(0).strftime("%Y-%m-%d %H:%M:%S")}
        )
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(ReportChange)) > 0
        assert db.session.get(CreditSlip, gone) is None
    with app.app_context():
        assert assert_matches_brute_force(api) > 50
        for days in (30, 90):
            assert serial(api, days, 1) == serial_expected(days, 1)
        assert db.session.scalar(select(func.count()).select_from(ReportChange)) == 0
        # What the roll-ups built is what a rebuild from scratch builds.
        rolled_up = summary_rows()
        rebuild()
        assert summary_rows() == rolled_up


def test_an_order_paid_on_two_days_of_the_period_counts_once(app, api, make_order):
    # 2 T-shirts (47.76) + a mug (11.40) + shipping 8.40 = 67.56 EUR paid 5 days ago, then 10.00 more 3 days ago.
    order_id = make_order("PS_OS_BANKWIRE")
    with app.app_context():
        order = db.session.get(Order, order_id)
        change_state(order, OrderState.by_key("PS_OS_PAYMENT"), at=at(5))
        db.session.add(Payment(order_id=order_id, amount=Decimal("10.00"), currency="EUR", method="Card", at=at(3)))
        tshirt = next(line for line in order.lines if line.product_reference == "TSHIRT-01")
        issue_credit_slip(order, {tshirt.id: 1}, at=at(2))  # 23.88
        change_state(order, OrderState.by_key("PS_OS_REFUND"), at=at(1))  # 77.56 - 23.88 = 53.68
        db.session.commit()
    eur = report(api, group_by="source")["EUR"]
    assert (eur["totals"]["gross"], eur["totals"]["paid_orders"]) == ("77.56", 1)
    assert (eur["totals"]["refunds"], eur["totals"]["refund_count"], eur["totals"]["refunded_orders"]) == (
        "77.56",
        2,
        1,
    )
    assert [(row["paid_orders"], row["refunded_orders"]) for row in eur["rows"]] == [(1, 1)]
    products = report(api, group_by="product")["EUR"]
    rows = {row["label"]: row for row in products["rows"]}
    # The lines count once however many payments: 47.76 of T-shirts, given back 23.88 (slip) + 23.88 (rest).
    assert (rows["TSHIRT-01 · T-shirt"]["gross"], rows["TSHIRT-01 · T-shirt"]["paid_orders"]) == ("47.76", 1)
    assert (rows["TSHIRT-01 · T-shirt"]["refunds"], rows["TSHIRT-01 · T-shirt"]["refunded_orders"]) == ("47.76", 1)
    assert (products["totals"]["gross"], products["totals"]["paid_orders"]) == ("59.16", 1)
    assert products["totals"]["refunded_orders"] == 1
    # Only the period's days: from 3 days ago the first payment is outside, the second counts.
    later = report(api, group_by="day", **{"from": TODAY - timedelta(days=3), "to": TODAY})["EUR"]
    assert (later["totals"]["gross"], later["totals"]["paid_orders"]) == ("10.00", 1)


def test_parallel_reports_roll_up_the_same_changes_once(app, api, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    report(api)  # the summary is up to date
    with app.app_context():
        order = db.session.get(Order, order_id)
        change_state(order, OrderState.by_key("PS_OS_REFUND"))
        db.session.commit()
    failures = []

    def read():
        with app.app_context():
            try:
                refresh()
            except Exception as error:  # noqa: BLE001  (reported below)
                failures.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    totals = report(api)["EUR"]["totals"]
    assert (totals["gross"], totals["refunds"], totals["refunded_orders"]) == ("67.56", "67.56", 1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReportChange)) == 0


def test_rebuild_command_builds_the_rows_of_existing_orders(app, api, make_order):
    make_order("PS_OS_PAYMENT")
    with app.app_context():
        db.session.execute(text("DELETE FROM report_change"))  # as if the shop predates the triggers
        db.session.commit()
    assert report(api) == {}
    result = app.test_cli_runner().invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "summary rows rebuilt for 1 orders" in result.output
    assert report(api)["EUR"]["totals"]["gross"] == "67.56"


def test_init_demo_builds_the_summary_rows(app):
    result = app.test_cli_runner().invoke(args=["shop", "init-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        # Every paid order has its facts, before any report ran (the postbacks' demo, which runs later,
        # leaves a few changed orders for the first report to roll up).
        paid = set(db.session.scalars(select(Payment.order_id)))
        built = set(db.session.scalars(select(ReportFact.order_id).where(ReportFact.paid == 1)))
        assert len(paid) > 100 and built == paid
