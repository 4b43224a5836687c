"""Partial refunds: credit slip amounts, refunded quantities, refusals, shipping once, no status change."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.dbtypes import utcnow
from extensions import db
from shop.models import CreditSlip, CreditSlipLine, Employee, Order, OrderHistory
from shop.refunds import RefundRefused, issue_credit_slip
from shop.signals import credit_slip_issued, order_status_changed, order_status_update

# shop_data: T-shirt 19.90 + 20 % = 23.88, Mug 9.50 + 20 % = 11.40, Poster 12.00 + 5.5 % = 12.66;
# shipping 7.00, with 20 % tax 8.40.


@pytest.fixture
def order(app_ctx, make_order) -> Order:
    """A paid order: 2 T-shirts, 1 mug, 3 posters."""
    return db.session.get(Order, make_order("PS_OS_DELIVERED", quantities=(2, 1, 3)))


def lines_by_reference(order: Order) -> dict:
    return {line.product_reference: line for line in order.lines}


def slip_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CreditSlip))


class Signals:
    """Records every shop signal sent while connected."""

    def __init__(self):
        self.sent: list[tuple] = []

    def slip(self, sender, **kwargs):
        self.sent.append(("credit-slip-issued", sender, kwargs))

    def status(self, sender, **kwargs):
        self.sent.append(("status", sender, kwargs))

    def __enter__(self):
        credit_slip_issued.connect(self.slip)
        order_status_update.connect(self.status)
        order_status_changed.connect(self.status)
        return self

    def __exit__(self, *exc):
        credit_slip_issued.disconnect(self.slip)
        order_status_update.disconnect(self.status)
        order_status_changed.disconnect(self.status)


def test_amounts_per_line_tax_incl_and_excl(order):
    lines = lines_by_reference(order)
    tshirt, poster = lines["TSHIRT-01"], lines["POSTER-01"]
    slip = issue_credit_slip(order, {tshirt.id: 1, poster.id: 2})
    db.session.commit()

    assert slip.total_products_tax_excl == Decimal("43.90")  # 19.90 + 2 × 12.00
    assert slip.total_products_tax_incl == Decimal("49.20")  # 23.88 + 2 × 12.66
    assert slip.total_shipping_tax_excl == slip.total_shipping_tax_incl == Decimal("0.00")
    assert slip.amount_tax_incl == Decimal("49.20") and slip.amount_tax_excl == Decimal("43.90")
    rows = {row.order_line_id: row for row in slip.lines}
    assert (rows[tshirt.id].quantity, rows[tshirt.id].amount_tax_excl, rows[tshirt.id].amount_tax_incl) == (
        1,
        Decimal("19.90"),
        Decimal("23.88"),
    )
    assert (rows[poster.id].quantity, rows[poster.id].amount_tax_excl, rows[poster.id].amount_tax_incl) == (
        2,
        Decimal("24.00"),
        Decimal("25.32"),
    )
    assert order.refunded_total == Decimal("49.20")


def test_refunded_quantities_are_raised(order):
    lines = lines_by_reference(order)
    issue_credit_slip(order, {lines["TSHIRT-01"].id: 1, lines["POSTER-01"].id: 2})
    issue_credit_slip(order, {lines["POSTER-01"].id: 1})
    db.session.commit()
    db.session.expire_all()
    lines = lines_by_reference(order)
    assert {ref: line.refunded_quantity for ref, line in lines.items()} == {
        "TSHIRT-01": 1,
        "MUG-01": 0,
        "POSTER-01": 3,
    }
    assert lines["POSTER-01"].refundable_quantity == 0
    assert len(order.credit_slips) == 2


def test_shipping_is_refunded_once(order):
    mug = lines_by_reference(order)["MUG-01"]
    slip = issue_credit_slip(order, {mug.id: 1}, refund_shipping=True)
    assert (slip.total_shipping_tax_excl, slip.total_shipping_tax_incl) == (Decimal("7.00"), Decimal("8.40"))
    assert slip.amount_tax_incl == Decimal("19.80")  # 11.40 + 8.40
    db.session.commit()
    with pytest.raises(RefundRefused) as refused:
        issue_credit_slip(order, {}, refund_shipping=True)
    assert refused.value.field == "refund_shipping"
    assert slip_count() == 1


def test_shipping_alone(order):
    slip = issue_credit_slip(order, {}, refund_shipping=True)
    assert slip.lines == [] and slip.amount_tax_incl == Decimal("8.40") and slip.total_products_tax_incl == 0


@pytest.mark.parametrize(
    ("wanted", "field", "message"),
    [
        ({"TSHIRT-01": 3}, "lines", "only 2 of T-shirt"),
        ({"MUG-01": 1, "POSTER-01": 4}, "lines", "only 3 of Poster"),
        ({"MUG-01": -1}, "lines", "positive whole number"),
        ({}, "lines", "choose at least one"),
        ({"MUG-01": 0}, "lines", "choose at least one"),
    ],
)
def test_refusals_write_nothing(order, wanted, field, message):
    lines = lines_by_reference(order)
    with Signals() as signals, pytest.raises(RefundRefused) as refused:
        issue_credit_slip(order, {lines[ref].id: qty for ref, qty in wanted.items()})
    assert refused.value.field == field and message in str(refused.value)
    db.session.commit()
    db.session.expire_all()
    assert slip_count() == 0
    assert db.session.scalar(select(func.count()).select_from(CreditSlipLine)) == 0
    assert all(line.refunded_quantity == 0 for line in order.lines)
    assert signals.sent == []


def test_over_refund_after_an_earlier_slip(order):
    tshirt = lines_by_reference(order)["TSHIRT-01"]
    issue_credit_slip(order, {tshirt.id: 1})
    db.session.commit()
    with pytest.raises(RefundRefused, match="only 1 of T-shirt"):
        issue_credit_slip(order, {tshirt.id: 2})
    db.session.rollback()
    assert slip_count() == 1 and db.session.get(type(tshirt), tshirt.id).refunded_quantity == 1


def test_a_line_of_another_order_is_refused(order, make_order):
    other = db.session.get(Order, make_order("PS_OS_PAYMENT", quantities=(1, 1, 1)))
    with pytest.raises(RefundRefused, match="not a line of order"):
        issue_credit_slip(order, {other.lines[0].id: 1})
    assert slip_count() == 0


def test_no_status_change(order):
    state_id, valid = order.current_state_id, order.valid
    history = db.session.scalar(select(func.count()).select_from(OrderHistory).filter_by(order_id=order.id))
    everything = {line.id: line.quantity for line in order.lines}
    with Signals() as signals:
        issue_credit_slip(order, everything, refund_shipping=True)
    db.session.commit()
    db.session.expire_all()
    assert (order.current_state_id, order.valid) == (state_id, valid)
    assert db.session.scalar(select(func.count()).select_from(OrderHistory).filter_by(order_id=order.id)) == history
    assert [kind for kind, *_ in signals.sent] == ["credit-slip-issued"]
    assert order.refunded_total == order.total_paid_tax_incl


def test_credit_slip_issued_signal_sent_once_with_the_slip(order, staff):
    employee = db.session.get(Employee, staff.ids["admin"])
    at = utcnow()
    mug = lines_by_reference(order)["MUG-01"]
    with Signals() as signals:
        slip = issue_credit_slip(order, {mug.id: 1}, employee=employee, at=at)
    assert len(signals.sent) == 1
    kind, sender, kwargs = signals.sent[0]
    assert sender is order
    assert kwargs == {"credit_slip": slip, "employee": employee, "at": at}
    assert slip.id is not None and slip.lines[0].id is not None  # flushed before the signal
    db.session.commit()
    assert slip.employee_id == employee.id and slip.at == at
