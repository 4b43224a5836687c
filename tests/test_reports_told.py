"""The reconciliation's summary rows against the outbox itself: a generated shop in two currencies whose
events are then sent, refused or left waiting behind the reports' back (as the delivery worker does),
totals and pages compared with sums computed here from the outbox rows and the amounts each order was
built to give back; windows closing on a moved clock; a disabled destination's gaps never listed."""

import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, text, update

from core.dbtypes import utcnow
from delivery.models import FAILED, PENDING, SENT, OutboxEvent
from extensions import db
from ga4.settings import save_settings as save_ga4
from reports.period import Period
from reports.reconciliation import reconcile
from tests.conftest import wait_for
from tests.pixelplus_support import change, configure, slip, state_id

FULL = Decimal("67.56")  # 2 T-shirts at 23.88 and a mug at 11.40, plus 8.40 shipping (tax included)
T_SHIRT = Decimal("23.88")
ZERO = Decimal("0.00")


def reconciliation(api, **args) -> dict:
    query = "&".join(f"{key}={value}" for key, value in args.items())
    response = api.get(f"/api/reports/reconciliation?{query}", "tester")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def real_events(app) -> list[tuple[int, str, str, Decimal]]:
    """Every real outbox row: (order, destination, status, value)."""
    with app.app_context():
        statement = select(OutboxEvent.order_id, OutboxEvent.destination, OutboxEvent.status, OutboxEvent.value).where(
            OutboxEvent.test_event_code.is_(None), OutboxEvent.value.is_not(None)
        )
        return [tuple(row) for row in db.session.execute(statement)]


def set_status(app, event_ids: list[int], status: str) -> None:
    """Change outbox rows' status with plain SQL, as the delivery worker's update would."""
    with app.app_context():
        db.session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(event_ids)).values(status=status))
        db.session.commit()


def event_ids(app, order_ids) -> list[int]:
    with app.app_context():
        statement = select(OutboxEvent.id).where(OutboxEvent.order_id.in_(order_ids)).order_by(OutboxEvent.id)
        return list(db.session.scalars(statement))


def test_totals_and_pages_equal_sums_of_the_outbox_and_never_mix_currencies(app, api, make_order):
    configure(app)  # Meta on, every trigger by default: Refunded full, a credit slip partial
    rng = random.Random(18)
    given_back: dict[int, Decimal] = {}
    currency_of: dict[int, str] = {}
    for n in range(16):
        currency = ("EUR", "USD")[n % 2]
        order_id = make_order("PS_OS_PAYMENT", currency=currency)
        path = rng.choice(("full", "slip", "slip then full"))
        if path in ("slip", "slip then full"):
            slip(app, order_id, {0: 1})
        if path in ("full", "slip then full"):
            change(app, order_id, "PS_OS_REFUND")
        given_back[order_id] = T_SHIRT if path == "slip" else FULL
        currency_of[order_id] = currency
    unpaid = make_order("PS_OS_BANKWIRE")
    change(app, unpaid, "PS_OS_CANCELED")  # gives nothing back: never listed

    first = reconciliation(api, limit=1000)  # rolls everything up once, all events still waiting
    assert first["orders_total"] == 16 and first["mismatches"] == 16

    # Then the delivery service answers, behind the reports' back: sent, refused, or still waiting.
    ids = event_ids(app, given_back)
    rng.shuffle(ids)
    set_status(app, ids[: len(ids) // 2], SENT)
    set_status(app, ids[len(ids) // 2 : len(ids) * 3 // 4], FAILED)

    expected: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    carried: dict[int, Decimal] = defaultdict(lambda: ZERO)
    per_order: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for order_id, destination, status, value in real_events(app):
        assert destination == "meta_capi"
        column = {SENT: "acknowledged", PENDING: "waiting", FAILED: "failed"}[status]
        expected[currency_of[order_id]][column] += value
        per_order[order_id][column] += value
        carried[order_id] += value
    mismatched = set()
    for order_id, amount in given_back.items():
        gap = amount - carried[order_id]
        totals = expected[currency_of[order_id]]
        totals["not_eligible"] += max(gap, ZERO)  # refunded today: every window is still open
        totals["over_reported"] += max(-gap, ZERO)
        totals["refunded"] += amount
        if gap or per_order[order_id]["waiting"] or per_order[order_id]["failed"]:
            mismatched.add(order_id)

    body = reconciliation(api, limit=1000)
    assert set(body["totals"]) == {"EUR", "USD"}
    for currency, totals in body["totals"].items():
        meta = totals["destinations"]["meta_capi"]
        assert Decimal(totals["refunded"]) == expected[currency]["refunded"]
        for column in ("acknowledged", "waiting", "failed", "not_eligible", "over_reported"):
            assert Decimal(meta[column]) == expected[currency][column], (currency, column)
        assert meta["out_of_window"] == "0.00"
    assert body["orders_total"] == 16 and body["mismatches"] == len(mismatched)
    for row in body["orders"]:
        assert Decimal(row["refunded"]) == given_back[row["order_id"]]
        assert row["currency"] == currency_of[row["order_id"]]
        assert row["mismatch"] is (row["order_id"] in mismatched)

    only = reconciliation(api, mismatches=1, limit=1000)
    assert {row["order_id"] for row in only["orders"]} == mismatched
    assert only["orders_total"] == len(mismatched)

    # Pages of 5, newest refund first: every order exactly once.
    seen = []
    for page in range(1, 5):
        seen += [row["order_id"] for row in reconciliation(api, limit=5, page=page)["orders"]]
    assert sorted(seen) == sorted(given_back) and len(seen) == 16
    assert reconciliation(api, limit=5, page=5)["orders"] == []


def test_a_window_closing_moves_the_gap_to_out_of_window_and_ends_resending(app, make_order):
    configure(app, trigger_state_ids=[state_id(app, "PS_OS_REFUND")])
    not_a_trigger = make_order("PS_OS_PAYMENT")
    change(app, not_a_trigger, "PS_OS_CANCELED")  # 67.56 given back, no event: not eligible while open
    refused = make_order("PS_OS_PAYMENT")
    change(app, refused, "PS_OS_REFUND")
    set_status(app, event_ids(app, [refused]), FAILED)
    now = utcnow()
    today = Period(now.date() - timedelta(days=1), now.date())
    with app.app_context():
        rows = {row.order_id: row for row in reconcile(today, now=now).orders}
        meta = rows[not_a_trigger].destinations["meta_capi"]
        assert (meta.not_eligible, meta.out_of_window) == (FULL, ZERO)
        assert rows[refused].destinations["meta_capi"].resendable == 1
    with app.app_context():  # eight days on: Meta takes events up to 7 days old
        rows = {row.order_id: row for row in reconcile(today, now=now + timedelta(days=8)).orders}
        meta = rows[not_a_trigger].destinations["meta_capi"]
        assert (meta.not_eligible, meta.out_of_window) == (ZERO, FULL)
        assert "accepts events until" in meta.reason
        late = rows[refused].destinations["meta_capi"]
        assert (late.failed, late.resendable) == (FULL, 0)


def test_a_disabled_destination_never_makes_an_order_a_mismatch(app, api, make_order):
    configure(app)
    with app.app_context():  # GA4 switched on, then off: registered, not enabled
        save_ga4({"enabled": False})
        db.session.commit()
    order_id = make_order("PS_OS_PAYMENT")
    change(app, order_id, "PS_OS_REFUND")
    set_status(app, event_ids(app, [order_id]), SENT)
    body = reconciliation(api)
    assert list(body["destinations"]) == ["meta_capi"]
    row = next(row for row in body["orders"] if row["order_id"] == order_id)
    assert row["mismatch"] is False and set(row["destinations"]) == {"meta_capi"}
    assert body["mismatches"] == 0
    assert reconciliation(api, mismatches=1)["orders"] == []


def test_the_page_pages_through_the_orders(app, auth, client, make_order):
    configure(app)
    orders = []
    for _ in range(3):
        order_id = make_order("PS_OS_PAYMENT")
        change(app, order_id, "PS_OS_REFUND")
        orders.append(order_id)
    auth.login("tester")
    from reports import reconciliation as module

    module.PER_PAGE, before = 2, module.PER_PAGE
    try:
        html = client.get("/admin/reports/reconciliation").get_data(as_text=True)
        assert "3 orders" in html and "page 1 of 2" in html and 'aria-label="Pages"' in html
        second = client.get("/admin/reports/reconciliation?page=2").get_data(as_text=True)
        assert f'data-order-id="{orders[0]}"' in second and f'data-order-id="{orders[2]}"' not in second
        assert client.get("/admin/reports/reconciliation?page=" + str(2**63)).status_code == 422
    finally:
        module.PER_PAGE = before


def test_a_large_backlog_goes_to_the_background_while_the_report_answers(app, api, auth, client, make_order):
    app.config["REPORTS_ROLLUP_IN_REQUEST"] = 2
    configure(app)
    for _ in range(4):
        change(app, make_order("PS_OS_PAYMENT"), "PS_OS_REFUND")  # 4 × 67.56 paid, then given back
    auth.login("tester")
    page = client.get("/admin/reports/").get_data(as_text=True)  # more than a request rolls up itself
    assert 'id="reports-behind"' in page and "being added to the reports in the background" in page
    with app.app_context():
        db.session.execute(text("INSERT INTO report_change (order_id) SELECT id FROM orders"))  # 4 more
        db.session.commit()
    assert api.get("/api/reports/refunds", "tester").get_json()["pending_changes"] >= 3

    def caught_up():
        body = api.get("/api/reports/refunds", "tester").get_json()
        return body if body["pending_changes"] == 0 and body["currencies"] else None

    body = wait_for(caught_up, timeout=30, message="the background roll-up never caught up")
    totals = body["currencies"][0]["totals"]
    assert (totals["gross"], totals["refunds"], totals["refunded_orders"]) == ("270.24", "270.24", 4)
    told = reconciliation(api)
    assert told["orders_total"] == 4 and told["totals"]["EUR"]["refunded"] == "270.24"


def test_the_roll_up_goes_a_slice_of_orders_per_transaction(app, api, make_order, monkeypatch):
    from reports import summary

    configure(app)
    orders = [make_order("PS_OS_PAYMENT") for _ in range(5)]
    for order_id in orders:
        change(app, order_id, "PS_OS_REFUND")
    monkeypatch.setattr(summary, "ORDERS_AT_ONCE", 2)
    result = app.test_cli_runner().invoke(args=["reports", "roll-up"])
    assert result.exit_code == 0 and "changed orders rolled up" in result.output, result.output
    with app.app_context():
        assert summary.backlog(utcnow(), 10) == 0
    body = reconciliation(api)
    assert body["orders_total"] == 5 and body["totals"]["EUR"]["refunded"] == str(FULL * 5)


def test_a_roll_up_that_dies_midway_leaves_every_change_to_the_next(app, api, make_order, monkeypatch):
    from reports import summary

    configure(app)
    orders = [make_order("PS_OS_PAYMENT") for _ in range(3)]
    for order_id in orders:
        change(app, order_id, "PS_OS_REFUND")

    def killed(ids, now):
        raise RuntimeError("killed after the facts, before the told rows")

    monkeypatch.setattr(summary, "recompute_told", killed)
    with app.app_context():
        try:
            summary.roll_up()
        except RuntimeError:
            db.session.rollback()
        else:
            raise AssertionError("the roll-up should have died")
        assert summary.backlog(utcnow(), 100) >= 3  # nothing of the slice was taken away
    monkeypatch.undo()
    body = reconciliation(api)
    assert body["orders_total"] == 3 and body["totals"]["EUR"]["refunded"] == str(FULL * 3)
    assert body["pending_changes"] == 0


def test_send_what_is_missing_is_offered_only_when_a_failed_event_can_be_resent(app, auth, client, make_order):
    configure(app, trigger_state_ids=[state_id(app, "PS_OS_REFUND")])
    not_a_trigger = make_order("PS_OS_PAYMENT")
    change(app, not_a_trigger, "PS_OS_CANCELED")  # a mismatch no resend can mend
    auth.login("merchant")
    page = client.get("/admin/reports/reconciliation").get_data(as_text=True)
    assert "1 mismatched" in page and 'id="send-all-missing"' not in page
    refused = make_order("PS_OS_PAYMENT")
    change(app, refused, "PS_OS_REFUND")
    set_status(app, event_ids(app, [refused]), FAILED)
    page = client.get("/admin/reports/reconciliation").get_data(as_text=True)
    assert 'id="send-all-missing"' in page and "Send what is missing (1 failed event)" in page
