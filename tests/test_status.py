"""The status service: PrestaShop's order of effects, refusals, payments, bulk changes, "paid before"."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.dbtypes import utcnow
from extensions import db
from shop.models import Customer, Employee, Order, OrderHistory, OrderState, Payment, Product
from shop.orders import CartLine, place_order
from shop.signals import order_status_changed, order_status_update, payment_confirmed
from shop.status import StateAlreadyAssigned, change_state, change_states, was_paid_before
from tests.test_states import EXPECTED


def state(key: str) -> OrderState:
    return OrderState.by_key(key)


def history_count(order_id: int, state_id: int | None = None) -> int:
    statement = select(func.count()).select_from(OrderHistory).where(OrderHistory.order_id == order_id)
    if state_id is not None:
        statement = statement.where(OrderHistory.state_id == state_id)
    return db.session.scalar(statement)


class Recorder:
    """Blinker receivers that note what they saw; connected for the duration of a `with` block."""

    def __init__(self):
        self.calls: list[tuple] = []

    def pre(self, order, **kwargs):
        self.calls.append(
            (
                "pre",
                order.id,
                {
                    "current": order.current_state.key if order.current_state else None,
                    "valid": order.valid,
                    "new": kwargs["new_state"].key,
                    "payments": len(order.payments),
                    "kwargs": set(kwargs),
                },
            )
        )

    def post(self, order, **kwargs):
        old = kwargs["old_state"]
        self.calls.append(
            (
                "post",
                order.id,
                {
                    "current": order.current_state.key,
                    "valid": order.valid,
                    "old": old.key if old else None,
                    "new": kwargs["new_state"].key,
                    "history_rows_for_new_state": history_count(order.id, kwargs["new_state"].id),
                    "history_in_memory": [entry.state.key for entry in order.history],
                    "payments": [p.amount for p in order.payments],
                    "paid_before": was_paid_before(order, kwargs["at"]),
                    "employee": kwargs["employee"],
                    "at": kwargs["at"],
                    "kwargs": set(kwargs),
                },
            )
        )

    def __enter__(self):
        order_status_update.connect(self.pre)
        order_status_changed.connect(self.post)
        return self

    def __exit__(self, *exc):
        order_status_update.disconnect(self.pre)
        order_status_changed.disconnect(self.post)

    def of(self, kind: str) -> list[dict]:
        return [seen for name, _, seen in self.calls if name == kind]


@pytest.fixture
def employee(app_ctx, staff) -> Employee:
    return db.session.get(Employee, staff.ids["admin"])


def test_order_of_effects(app_ctx, make_order, employee):
    order = db.session.get(Order, make_order("PS_OS_BANKWIRE"))
    at = utcnow()
    with Recorder() as seen:
        history = change_state(order, state("PS_OS_PAYMENT"), employee, at=at)
    db.session.commit()

    assert [name for name, *_ in seen.calls] == ["pre", "post"]
    pre, post = seen.of("pre")[0], seen.of("post")[0]
    # Before: the old state, the old valid, nothing paid yet.
    assert pre == {
        "current": "PS_OS_BANKWIRE",
        "valid": False,
        "new": "PS_OS_PAYMENT",
        "payments": 0,
        "kwargs": {"new_state", "employee", "at"},
    }
    # After: the new state, valid already following it, the payment recorded, no history row yet.
    assert post["current"] == "PS_OS_PAYMENT" and post["valid"] is True
    assert post["old"] == "PS_OS_BANKWIRE" and post["new"] == "PS_OS_PAYMENT"
    assert post["history_rows_for_new_state"] == 0
    assert post["history_in_memory"] == ["PS_OS_BANKWIRE"]
    assert post["payments"] == [order.total_paid_tax_incl]
    assert post["employee"] is employee and post["at"] == at
    assert {"old_state", "new_state", "employee", "at"} <= post["kwargs"]
    # Then the history row, with who and when.
    assert history.state.key == "PS_OS_PAYMENT" and history.employee_id == employee.id and history.at == at
    rows = db.session.scalars(select(OrderHistory).filter_by(order_id=order.id).order_by(OrderHistory.id)).all()
    assert [row.state.key for row in rows] == ["PS_OS_BANKWIRE", "PS_OS_PAYMENT"]
    assert rows[-1].employee_id == employee.id


@pytest.mark.parametrize("key", EXPECTED)
def test_valid_follows_logable(app_ctx, make_order, key):
    start = "PS_OS_COD_VALIDATION" if key != "PS_OS_COD_VALIDATION" else "PS_OS_PAYMENT"
    order = db.session.get(Order, make_order(start))
    target = state(key)
    with Recorder() as seen:
        change_state(order, target)
    db.session.commit()
    assert order.valid is target.logable is bool(EXPECTED[key][1])
    assert seen.of("post")[0]["valid"] is target.logable


def test_payment_recorded_once_on_entering_a_paid_state(app_ctx, make_order):
    order = db.session.get(Order, make_order("PS_OS_BANKWIRE"))
    assert order.payments == []
    change_state(order, state("PS_OS_CANCELED"))
    change_state(order, state("PS_OS_BANKWIRE"))
    assert order.payments == []  # unpaid states record nothing
    change_state(order, state("PS_OS_PAYMENT"))
    change_state(order, state("PS_OS_PREPARATION"))
    change_state(order, state("PS_OS_SHIPPING"))
    db.session.commit()
    payments = db.session.scalars(select(Payment).filter_by(order_id=order.id)).all()
    assert len(payments) == 1
    assert payments[0].amount == order.total_paid_tax_incl == order.amount_paid
    assert payments[0].currency == order.currency


def test_payment_covers_only_what_is_unpaid(app_ctx, make_order):
    order = db.session.get(Order, make_order("PS_OS_CHEQUE"))
    order.payments.append(Payment(amount=order.total_paid_tax_incl - 10, currency="EUR", method="Check"))
    db.session.flush()
    change_state(order, state("PS_OS_PAYMENT"))
    db.session.commit()
    assert [p.amount for p in order.payments][-1] == 10
    assert order.amount_paid == order.total_paid_tax_incl


def test_unchanged_state_is_refused_and_writes_nothing(app_ctx, make_order):
    order = db.session.get(Order, make_order("PS_OS_PAYMENT"))
    before = (history_count(order.id), len(order.payments), order.updated_at)
    with Recorder() as seen, pytest.raises(StateAlreadyAssigned) as refused:
        change_state(order, state("PS_OS_PAYMENT"))
    db.session.commit()
    db.session.expire_all()
    assert refused.value.order is order and refused.value.state.key == "PS_OS_PAYMENT"
    assert order.reference in str(refused.value)
    assert seen.calls == []
    assert (history_count(order.id), len(order.payments), order.updated_at) == before


def test_post_signal_sent_exactly_once_per_change(app_ctx, make_order):
    order = db.session.get(Order, make_order("PS_OS_PAYMENT"))
    with Recorder() as seen:
        for key in ("PS_OS_PREPARATION", "PS_OS_SHIPPING", "PS_OS_DELIVERED", "PS_OS_REFUND"):
            change_state(order, state(key))
    db.session.commit()
    posts = seen.of("post")
    assert [(p["old"], p["new"]) for p in posts] == [
        ("PS_OS_PAYMENT", "PS_OS_PREPARATION"),
        ("PS_OS_PREPARATION", "PS_OS_SHIPPING"),
        ("PS_OS_SHIPPING", "PS_OS_DELIVERED"),
        ("PS_OS_DELIVERED", "PS_OS_REFUND"),
    ]
    assert len(seen.of("pre")) == 4
    assert history_count(order.id) == 5


def test_creation_fires_both_signals_with_no_old_state(app_ctx, shop_data):
    customer = db.session.get(Customer, shop_data["customer_ids"][0])
    product = db.session.get(Product, shop_data["product_ids"][0])
    with Recorder() as seen:
        order = place_order(customer, [CartLine(product, 2)], state("PS_OS_PAYMENT"))
    db.session.commit()
    assert [name for name, *_ in seen.calls] == ["pre", "post"]
    assert seen.of("pre")[0]["current"] is None
    post = seen.of("post")[0]
    assert post["old"] is None and post["new"] == "PS_OS_PAYMENT" and post["valid"] is True
    assert post["history_rows_for_new_state"] == 0
    assert post["paid_before"] is False  # the payment recorded by this very change does not count
    assert history_count(order.id, state("PS_OS_PAYMENT").id) == 1
    assert order.amount_paid == order.total_paid_tax_incl == product.price_tax_incl * 2 + order.total_shipping_tax_incl


class TestWasPaidBefore:
    """The trap: at the post-update signal `valid` follows the new state; history tells what was paid."""

    def paid_before(self, make_order, start: str, then: list[str]) -> list[bool]:
        order = db.session.get(Order, make_order(start))
        with Recorder() as seen:
            for key in then:
                change_state(order, state(key))
        db.session.commit()
        return [(post["valid"], post["paid_before"]) for post in seen.of("post")]

    def test_backorder_paid_then_canceled(self, app_ctx, make_order):
        # Not logable, yet paid: it counts as paid before.
        assert self.paid_before(make_order, "PS_OS_OUTOFSTOCK_PAID", ["PS_OS_CANCELED"]) == [(False, True)]

    def test_payment_accepted_then_refunded(self, app_ctx, make_order):
        # valid is already 0 when the refund module hears of it, but the order was paid.
        assert self.paid_before(make_order, "PS_OS_PAYMENT", ["PS_OS_REFUND"]) == [(False, True)]

    def test_bank_wire_then_canceled(self, app_ctx, make_order):
        assert self.paid_before(make_order, "PS_OS_BANKWIRE", ["PS_OS_CANCELED"]) == [(False, False)]

    def test_bank_wire_paid_then_canceled(self, app_ctx, make_order):
        results = self.paid_before(make_order, "PS_OS_BANKWIRE", ["PS_OS_PAYMENT", "PS_OS_CANCELED"])
        assert results == [(True, False), (False, True)]

    def test_payment_recorded_by_hand_counts(self, app_ctx, make_order):
        order = db.session.get(Order, make_order("PS_OS_CHEQUE"))
        order.payments.append(
            Payment(amount=order.total_paid_tax_incl, currency="EUR", method="Check", at=utcnow() - timedelta(hours=1))
        )
        db.session.flush()
        with Recorder() as seen:
            change_state(order, state("PS_OS_CANCELED"))
        assert seen.of("post")[0]["paid_before"] is True


class TestBulk:
    def test_changes_in_list_order_and_reports(self, app_ctx, make_order, employee):
        a, b, c = (make_order("PS_OS_BANKWIRE") for _ in range(3))
        done = make_order("PS_OS_PAYMENT")
        with Recorder() as seen:
            result = change_states([c, a, 999_999, done, b, a], state("PS_OS_PAYMENT"), employee)
        db.session.commit()
        assert result.changed == [c, a, b]
        assert [post_id for name, post_id, _ in seen.calls if name == "post"] == [c, a, b]
        assert result.skipped == [
            {"id": 999_999, "reason": "no such order"},
            {"id": done, "reason": "already in state Payment accepted"},
            {"id": a, "reason": "listed twice"},
        ]
        for order_id in (a, b, c):
            assert db.session.get(Order, order_id).current_state.key == "PS_OS_PAYMENT"
            assert history_count(order_id) == 2
        assert history_count(done) == 1

    def test_a_failing_order_leaves_the_others_changed(self, app_ctx, make_order):
        ids = [make_order("PS_OS_BANKWIRE") for _ in range(4)]
        broken = ids[1]

        def explode(order, **extra):
            if order.id == broken:
                raise RuntimeError("a module failed")

        order_status_changed.connect(explode)
        try:
            result = change_states(ids, state("PS_OS_PAYMENT"))
        finally:
            order_status_changed.disconnect(explode)
        db.session.commit()
        db.session.expire_all()

        assert result.changed == [ids[0], ids[2], ids[3]]
        assert result.skipped == [{"id": broken, "reason": "error: RuntimeError"}]
        for order_id in result.changed:
            order = db.session.get(Order, order_id)
            assert order.current_state.key == "PS_OS_PAYMENT" and order.valid and len(order.payments) == 1
            assert history_count(order_id) == 2
        order = db.session.get(Order, broken)
        assert order.current_state.key == "PS_OS_BANKWIRE" and not order.valid
        assert order.payments == [] and history_count(broken) == 1


# --- invoices and the payment confirmation (OrderHistory::changeIdOrderState) ------------------------


def test_an_invoice_number_is_given_the_first_time_a_state_has_invoice(app_ctx, make_order):
    first, second = (db.session.get(Order, make_order("PS_OS_BANKWIRE")) for _ in range(2))
    assert first.invoice_number is None, "Awaiting bank wire has invoice=0"
    at = utcnow()
    change_state(second, state("PS_OS_PAYMENT"), at=at)
    change_state(first, state("PS_OS_PAYMENT"))
    assert (second.invoice_number, second.invoice_date) == (1, at)
    assert first.invoice_number == 2
    change_state(second, state("PS_OS_PREPARATION"))
    change_state(second, state("PS_OS_REFUND"))
    db.session.commit()
    assert (second.invoice_number, second.invoice_date) == (1, at), "the number is given once"


def test_an_order_placed_paid_has_an_invoice_and_a_canceled_unpaid_one_none(app_ctx, make_order):
    paid = db.session.get(Order, make_order("PS_OS_PAYMENT"))
    unpaid = db.session.get(Order, make_order("PS_OS_BANKWIRE"))
    change_state(unpaid, state("PS_OS_CANCELED"))
    assert paid.invoice_number == 1 and unpaid.invoice_number is None


class PaymentRecorder:
    def __init__(self):
        self.seen: list[tuple] = []

    def payment(self, order, **kwargs):
        self.seen.append(("payment-confirmed", kwargs["new_state"].key, order.current_state.key))

    def pre(self, order, **kwargs):
        self.seen.append(("order-status-update", kwargs["new_state"].key, order.current_state.key))

    def __enter__(self):
        payment_confirmed.connect(self.payment)
        order_status_update.connect(self.pre)
        return self

    def __exit__(self, *exc):
        payment_confirmed.disconnect(self.payment)
        order_status_update.disconnect(self.pre)


def test_payment_confirmed_fires_first_for_payment_accepted_and_remote_payment_accepted(app_ctx, make_order):
    order = db.session.get(Order, make_order("PS_OS_BANKWIRE"))
    with PaymentRecorder() as recorder:
        change_state(order, state("PS_OS_PAYMENT"))
        change_state(order, state("PS_OS_PREPARATION"))
        change_state(order, state("PS_OS_WS_PAYMENT"))
        change_state(order, state("PS_OS_OUTOFSTOCK_PAID"))  # paid=1, yet not a payment confirmation
    assert recorder.seen == [
        ("payment-confirmed", "PS_OS_PAYMENT", "PS_OS_BANKWIRE"),
        ("order-status-update", "PS_OS_PAYMENT", "PS_OS_BANKWIRE"),
        ("order-status-update", "PS_OS_PREPARATION", "PS_OS_PAYMENT"),
        ("payment-confirmed", "PS_OS_WS_PAYMENT", "PS_OS_PREPARATION"),
        ("order-status-update", "PS_OS_WS_PAYMENT", "PS_OS_PREPARATION"),
        ("order-status-update", "PS_OS_OUTOFSTOCK_PAID", "PS_OS_WS_PAYMENT"),
    ]
