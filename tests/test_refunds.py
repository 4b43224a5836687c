"""Refunds: partial (amounts, part of the shipping), standard, returns; slips, vouchers, restock; no status change."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select

from core.dbtypes import utcnow
from extensions import db
from shop.models import CreditSlip, CreditSlipLine, Employee, Order, OrderHistory
from shop.refunds import LineRefund, Refund, RefundRefused, issue_credit_slip, issue_refund
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
    assert kwargs == {
        "credit_slip": slip,
        "employee": employee,
        "at": at,
        "kind": "partial",
        "reason": None,
        "note": None,
    }
    assert slip.id is not None and slip.lines[0].id is not None  # flushed before the signal
    db.session.commit()
    assert slip.employee_id == employee.id and slip.at == at


# --- PrestaShop's refunds: amounts, partial shipping, kinds, credit slip and/or voucher, restock ------


def paid_order(make_order, key="PS_OS_PAYMENT", quantities=(2, 1, 3)) -> Order:
    return db.session.get(Order, make_order(key, quantities=quantities))


def test_a_partial_refund_takes_amounts_and_part_of_the_shipping(app_ctx, make_order):
    order = paid_order(make_order)
    lines = lines_by_reference(order)
    refund = Refund(
        lines=[
            LineRefund(lines["TSHIRT-01"].id, 1, Decimal("10.00")),  # 20 % tax: 10.00 / 1.20 = 8.33
            LineRefund(lines["POSTER-01"].id, 1, Decimal("5.00")),  # 5.5 % tax: 5.00 / 1.055 = 4.74
        ],
        shipping=Decimal("3.00"),  # 20 % carrier tax: 2.50
    )
    result = issue_refund(order, refund)
    db.session.commit()
    slip = result.credit_slip
    assert (slip.total_products_tax_incl, slip.total_products_tax_excl) == (Decimal("15.00"), Decimal("13.07"))
    assert (slip.total_shipping_tax_incl, slip.total_shipping_tax_excl) == (Decimal("3.00"), Decimal("2.50"))
    assert (slip.amount, slip.shipping_cost_amount, slip.slip_type) == (Decimal("15.00"), Decimal("3.00"), 2)
    assert result.amount_tax_incl == slip.amount_tax_incl == Decimal("18.00") and result.voucher is None
    tshirt = lines["TSHIRT-01"]
    assert (tshirt.refunded_quantity, tshirt.total_refunded_tax_incl, tshirt.total_refunded_tax_excl) == (
        1,
        Decimal("10.00"),
        Decimal("8.33"),
    )
    assert tshirt.refundable_amount == Decimal("37.76")  # 2 × 23.88 = 47.76 − 10.00


def test_a_slip_of_whole_units_only_is_of_type_product_prices(order):
    slip = issue_credit_slip(order, {lines_by_reference(order)["MUG-01"].id: 1})
    assert (slip.amount, slip.shipping_cost_amount, slip.slip_type) == (Decimal("11.40"), Decimal("0.00"), 0)


def test_a_line_refunded_in_parts_adds_up_to_its_price_exactly(app_ctx, make_order):
    order = paid_order(make_order)
    tshirt = lines_by_reference(order)["TSHIRT-01"]
    issue_refund(order, Refund(lines=[LineRefund(tshirt.id, 1, Decimal("40.00"))]))
    with pytest.raises(RefundRefused, match="at most 7.76 is left to refund on T-shirt"):
        issue_refund(order, Refund(lines=[LineRefund(tshirt.id, 1, Decimal("7.77"))]))
    issue_refund(order, Refund(lines=[LineRefund(tshirt.id, 1, Decimal("7.76"))]))
    db.session.commit()
    # 40.00 / 1.20 = 33.33, then the rest of 2 × 19.90 = 39.80: 6.47, not 7.76 / 1.20 = 6.47 by luck.
    assert [row.amount_tax_excl for slip in order.credit_slips for row in slip.lines] == [
        Decimal("33.33"),
        Decimal("6.47"),
    ]
    assert (tshirt.total_refunded_tax_incl, tshirt.total_refunded_tax_excl) == (Decimal("47.76"), Decimal("39.80"))
    assert tshirt.refundable_quantity == 0 and tshirt.refundable_amount == 0


def test_the_shipping_is_refunded_in_parts_up_to_what_is_left(app_ctx, make_order):
    order = paid_order(make_order)
    first = issue_refund(order, Refund(shipping=Decimal("3.00"))).credit_slip
    with pytest.raises(RefundRefused, match="at most 5.40 of shipping") as refused:
        issue_refund(order, Refund(shipping=Decimal("5.41")))
    assert refused.value.field == "shipping_amount"
    rest = issue_refund(order, Refund(shipping=Decimal("5.40"))).credit_slip  # 8.40 − 3.00
    assert (first.total_shipping_tax_excl, rest.total_shipping_tax_excl) == (Decimal("2.50"), Decimal("4.50"))
    with pytest.raises(RefundRefused, match="already been refunded"):
        issue_refund(order, Refund(shipping=True))


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00"), Decimal("1.001"), Decimal("NaN"), Decimal("Inf")])
def test_amounts_that_are_not_positive_cents_are_refused(app_ctx, make_order, amount):
    order = paid_order(make_order)
    mug = lines_by_reference(order)["MUG-01"]
    with pytest.raises(RefundRefused, match="must be positive, in cents"):
        issue_refund(order, Refund(lines=[LineRefund(mug.id, 1, amount)]))
    with pytest.raises(RefundRefused, match="in cents"):
        issue_refund(order, Refund(shipping=amount if amount else Decimal("-0.01")))
    assert slip_count() == 0 and mug.refunded_quantity == 0


def test_a_partial_refund_needs_a_paid_order(app_ctx, make_order):
    order = paid_order(make_order, "PS_OS_BANKWIRE")
    with pytest.raises(RefundRefused, match="needs a paid order") as refused:
        issue_credit_slip(order, {order.lines[0].id: 1})
    assert refused.value.field == "kind" and slip_count() == 0


def test_a_standard_refund_needs_an_invoice_and_no_delivery_and_restocks(app_ctx, make_order):
    order = paid_order(make_order)  # Payment accepted: invoiced, not delivered
    unpaid, delivered = paid_order(make_order, "PS_OS_BANKWIRE"), paid_order(make_order, "PS_OS_DELIVERED")
    tshirt = lines_by_reference(order)["TSHIRT-01"]
    stock = tshirt.product.quantity
    with pytest.raises(RefundRefused, match="only in a partial refund"):
        issue_refund(order, Refund(lines=[LineRefund(tshirt.id, 1, Decimal("5.00"))], kind="standard"))
    slip = issue_refund(order, Refund(lines=[LineRefund(tshirt.id, 2)], kind="standard")).credit_slip
    assert slip.total_products_tax_incl == Decimal("47.76") and tshirt.refunded_quantity == 2
    assert tshirt.product.quantity == stock + 2 and tshirt.restocked_quantity == 2
    with pytest.raises(RefundRefused, match="needs an invoice"):
        issue_refund(unpaid, Refund(lines=[LineRefund(unpaid.lines[0].id, 1)], kind="standard"))
    with pytest.raises(RefundRefused, match="only offered before delivery"):
        issue_refund(delivered, Refund(lines=[LineRefund(delivered.lines[0].id, 1)], kind="standard"))


def test_returned_products_count_as_returned_and_restock_only_when_asked(order):
    lines = lines_by_reference(order)
    mug, poster = lines["MUG-01"], lines["POSTER-01"]
    mug_stock, poster_stock = mug.product.quantity, poster.product.quantity
    issue_refund(order, Refund(lines=[LineRefund(mug.id, 1)], kind="return"))
    issue_refund(order, Refund(lines=[LineRefund(poster.id, 2)], kind="return", restock=True))
    db.session.commit()
    assert (mug.returned_quantity, mug.refunded_quantity, mug.refundable_quantity) == (1, 0, 0)
    assert (poster.returned_quantity, poster.refundable_quantity) == (2, 1)
    assert (mug.product.quantity, poster.product.quantity) == (mug_stock, poster_stock + 2)
    assert order.refunded_total == Decimal("36.72")  # 11.40 + 2 × 12.66


def test_products_are_returned_only_after_delivery(app_ctx, make_order):
    order = paid_order(make_order)
    with pytest.raises(RefundRefused, match="once the order has been delivered"):
        issue_refund(order, Refund(lines=[LineRefund(order.lines[0].id, 1)], kind="return"))


def test_a_partial_refund_restocks_before_delivery_and_after_only_when_asked(app_ctx, make_order):
    paid, delivered = paid_order(make_order), paid_order(make_order, "PS_OS_DELIVERED")
    stock = paid.lines[0].product.quantity
    issue_refund(paid, Refund(lines=[LineRefund(paid.lines[0].id, 1, Decimal("1.00"))]))
    issue_refund(delivered, Refund(lines=[LineRefund(delivered.lines[0].id, 1, Decimal("1.00"))]))
    assert paid.lines[0].product.quantity == stock + 1, "not delivered: PrestaShop puts the unit back"
    issue_refund(delivered, Refund(lines=[LineRefund(delivered.lines[0].id, 1)], restock=True))
    assert paid.lines[0].product.quantity == stock + 2 and delivered.lines[0].restocked_quantity == 1


def test_placing_an_order_takes_units_from_stock(app_ctx, make_order):
    order = paid_order(make_order, quantities=(2, 0, 0))
    product = order.lines[0].product
    before = product.quantity
    paid_order(make_order, quantities=(3, 0, 0))
    db.session.refresh(product)
    assert product.quantity == before - 3


def test_a_voucher_alone_refunds_without_a_slip(app_ctx, make_order):
    order = paid_order(make_order)
    mug = lines_by_reference(order)["MUG-01"]
    with Signals() as signals:
        result = issue_refund(
            order, Refund(lines=[LineRefund(mug.id, 1)], shipping=True, credit_slip=False, voucher=True)
        )
    db.session.commit()
    assert result.credit_slip is None and slip_count() == 0 and signals.sent == []
    voucher = result.voucher
    assert voucher.amount_tax_incl == Decimal("19.80") and voucher.currency == "EUR"  # 11.40 + 8.40
    assert re.fullmatch(r"V[A-Z2-9]{8}", voucher.code) and voucher.customer_id == order.customer_id
    assert mug.refunded_quantity == 1 and order.vouchers == [voucher]


def test_shipping_refunded_by_a_voucher_alone_cannot_be_refunded_again(app_ctx, make_order):
    order = paid_order(make_order)  # 8.40 of shipping, tax included
    issue_refund(order, Refund(shipping=Decimal("5.00"), credit_slip=False, voucher=True))
    db.session.commit()
    with pytest.raises(RefundRefused, match="at most 3.40 of shipping is left"):
        issue_refund(order, Refund(shipping=Decimal("5.00")))
    db.session.rollback()
    result = issue_refund(order, Refund(shipping=True))  # what is left: 8.40 - 5.00
    db.session.commit()
    assert result.credit_slip.total_shipping_tax_incl == Decimal("3.40")
    with pytest.raises(RefundRefused, match="the shipping has already been refunded"):
        issue_refund(order, Refund(shipping=True, credit_slip=False, voucher=True))


def test_a_credit_slip_and_a_voucher_together(app_ctx, make_order):
    order = paid_order(make_order)
    result = issue_refund(order, Refund(lines=[LineRefund(order.lines[0].id, 1)], voucher=True))
    assert result.voucher.credit_slip is result.credit_slip
    assert result.voucher.amount_tax_incl == result.credit_slip.amount_tax_incl == Decimal("23.88")


def test_neither_a_slip_nor_a_voucher_is_refused(app_ctx, make_order):
    order = paid_order(make_order)
    with pytest.raises(RefundRefused, match="a credit slip, a voucher or both"):
        issue_refund(order, Refund(lines=[LineRefund(order.lines[0].id, 1)], credit_slip=False))
    assert order.lines[0].refunded_quantity == 0


def test_a_line_listed_twice_is_refused(app_ctx, make_order):
    order = paid_order(make_order)
    line_id = order.lines[0].id
    with pytest.raises(RefundRefused, match="listed twice"):
        issue_refund(order, Refund(lines=[LineRefund(line_id, 1), LineRefund(line_id, 1)]))


def test_racing_refunds_of_the_last_unit_refund_it_once(app, live, staff, make_order):
    # Eight admins refund the order's only mug at once over real HTTP: one slip, never two.
    order_id = make_order("PS_OS_PAYMENT", quantities=(0, 1, 0))
    with app.app_context():
        line_id = db.session.get(Order, order_id).lines[0].id
    body = {"lines": [{"order_line_id": line_id, "quantity": 1, "amount": "11.40"}], "shipping_amount": "8.40"}
    barrier = threading.Barrier(8)

    def post(_):
        barrier.wait()
        url = f"{live.url}/api/orders/{order_id}/credit-slips"
        return requests.post(url, json=body, headers=staff.headers("admin"), timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, range(8)))
    assert statuses.count(201) == 1 and set(statuses) <= {201, 422, 503}, statuses
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert [slip.amount_tax_incl for slip in order.credit_slips] == [Decimal("19.80")]  # 11.40 + 8.40
        assert order.lines[0].refunded_quantity == 1 and order.lines[0].total_refunded_tax_incl == Decimal("11.40")
