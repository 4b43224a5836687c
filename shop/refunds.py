"""Refunds inside an order, as PrestaShop's order page offers them; the order's state never changes.

- **Partial refund** (paid orders): per line a quantity and an amount up to what is left of the line,
  part or all of what is left of the shipping (IssuePartialRefundHandler, OrderRefundCalculator).
- **Standard refund** (an invoice and not delivered yet): whole units at their price, units restocked.
- **Return products** (delivered orders): whole units at their price, counted as returned.

Each produces a credit slip, a voucher or both (the merchant's choice), raises the lines' refunded (or
returned) quantities and money, and may put units back in stock. Amounts entered are tax included, as
the shop shows its prices; the tax-excluded part is derived with the line's (or the carrier's) tax rate.
The slip's total_products_* and total_shipping_* are the truth of what it refunds; ``amount``,
``shipping_cost_amount`` and ``slip_type`` are PrestaShop's extra fields (OrderSlipCreator).
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update

from core.dbtypes import money, utcnow
from extensions import db
from shop.models import (
    SLIP_TYPE_PRODUCT_PRICES,
    SLIP_TYPE_SPECIFIC_AMOUNT,
    CreditSlip,
    CreditSlipLine,
    Employee,
    Order,
    OrderLine,
    Product,
    Voucher,
)
from shop.signals import credit_slip_issued
from shop.status import was_paid_before

KINDS = ("partial", "standard", "return")
ZERO = Decimal("0.00")


class RefundRefused(ValueError):
    """A refund that may not be issued, with the reason; nothing was written."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class LineRefund:
    """Units of one order line to refund and, for a partial refund, how much (tax incl)."""

    order_line_id: int
    quantity: int
    amount: Decimal | None = None  # None: the units' price, within what is left of the line


@dataclass
class Refund:
    """What the merchant asks for: lines, shipping (tax incl), and what to produce."""

    lines: list[LineRefund] = field(default_factory=list)
    shipping: Decimal = ZERO
    kind: str = "partial"
    credit_slip: bool = True
    voucher: bool = False
    restock: bool = False


@dataclass
class RefundResult:
    """What a refund produced."""

    credit_slip: CreditSlip | None
    voucher: Voucher | None
    amount_tax_incl: Decimal


def has_been_delivered(order: Order) -> bool:
    """Whether the order ever entered Delivered (PrestaShop's Order::hasBeenDelivered)."""
    return any(entry.state.key == "PS_OS_DELIVERED" for entry in order.history)


def refund_refusal(order: Order, kind: str) -> str | None:
    """Why this kind of refund is not offered on the order now, or None when it is."""
    if kind == "partial" and not was_paid_before(order):
        return "a partial refund needs a paid order (PrestaShop offers it once the order is paid)"
    if kind == "standard":
        if order.invoice_number is None:
            return "a standard refund needs an invoice (the order never entered a state with invoice=1)"
        if has_been_delivered(order):
            return "a standard refund is only offered before delivery; use return products"
    if kind == "return" and not has_been_delivered(order):
        return "products can be returned once the order has been delivered"
    if kind not in KINDS:
        return f"unknown kind of refund {kind!r}; use {', '.join(KINDS)}"
    return None


def shipping_left(order: Order) -> tuple[Decimal, Decimal]:
    """Return the shipping not refunded yet, (tax incl, tax excl), by credit slips or by vouchers given alone."""
    alone = [voucher for voucher in order.vouchers if voucher.credit_slip_id is None]
    incl = order.total_shipping_tax_incl - sum((s.total_shipping_tax_incl for s in order.credit_slips), ZERO)
    excl = order.total_shipping_tax_excl - sum((s.total_shipping_tax_excl for s in order.credit_slips), ZERO)
    incl -= sum((voucher.shipping_tax_incl for voucher in alone), ZERO)
    excl -= sum((voucher.shipping_tax_excl for voucher in alone), ZERO)
    return max(incl, ZERO), max(excl, ZERO)


def shipping_refundable(order: Order) -> bool:
    """Whether some shipping is left to refund."""
    return shipping_left(order)[0] > 0


def _tax_excl(amount: Decimal, rate: Decimal) -> Decimal:
    return money(amount / (1 + Decimal(rate) / 100))


@dataclass
class _LinePlan:
    line: OrderLine
    quantity: int
    tax_incl: Decimal
    tax_excl: Decimal


def _plan_line(line: OrderLine, wanted: LineRefund, kind: str) -> _LinePlan:
    """Check one line's refund and work out its money, or refuse it."""
    name = line.product_name
    quantity = wanted.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise RefundRefused(f"the quantity for {name} must be a positive whole number", "lines")
    if quantity > line.refundable_quantity:
        raise RefundRefused(f"only {line.refundable_quantity} of {name} can still be refunded", "lines")
    left = line.refundable_amount
    price = line.unit_price_tax_incl * quantity
    if wanted.amount is None:
        amount = min(price, left)
    elif kind != "partial":
        raise RefundRefused(f"amounts are entered only in a partial refund ({name})", "lines")
    else:
        amount = wanted.amount
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise RefundRefused(f"the amount for {name} must be positive, in cents", "lines")
        if amount > left:
            raise RefundRefused(f"at most {left:.2f} is left to refund on {name}", "lines")
        if amount != money(amount):
            raise RefundRefused(f"the amount for {name} must be positive, in cents", "lines")
    if amount == left:
        # The rest of the line: its tax-excluded rest, so a line refunded in parts adds up exactly.
        excl = line.unit_price_tax_excl * line.quantity - line.total_refunded_tax_excl
    elif amount == price:
        excl = line.unit_price_tax_excl * quantity
    else:
        excl = _tax_excl(amount, line.tax_rate)
    return _LinePlan(line, quantity, amount, max(excl, ZERO))


def issue_refund(
    order: Order,
    refund: Refund,
    employee: Employee | None = None,
    at: datetime | None = None,
    reason: str | None = None,
    note: str | None = None,
) -> RefundResult:
    """Refund lines and shipping of an order as asked; the caller commits.

    Raises RefundRefused, having written nothing, when the kind is not offered on this order, a line
    is not the order's or asks for more than is left, the shipping is more than is left, neither a
    credit slip nor a voucher is chosen, or there is nothing to refund.
    """
    _lock_for_refund(order)
    refusal = refund_refusal(order, refund.kind)
    if refusal:
        raise RefundRefused(refusal, "kind")
    if not refund.credit_slip and not refund.voucher:
        raise RefundRefused("choose a credit slip, a voucher or both", "credit_slip")
    lines = {line.id: line for line in order.lines}
    plans: list[_LinePlan] = []
    for wanted in refund.lines:
        line = lines.get(wanted.order_line_id)
        if line is None:
            raise RefundRefused(f"line {wanted.order_line_id} is not a line of order {order.reference}", "lines")
        if any(plan.line is line for plan in plans):
            raise RefundRefused(f"{line.product_name} is listed twice: give it once", "lines")
        plans.append(_plan_line(line, wanted, refund.kind))
    shipping_incl, shipping_excl = _plan_shipping(order, refund.shipping)
    if not plans and not shipping_incl:
        raise RefundRefused("choose at least one product quantity or the shipping to refund", "lines")

    at = at or utcnow()
    delivered = has_been_delivered(order)
    restocked: dict[int, tuple[Product, int]] = {}
    for plan in plans:
        line = plan.line
        if refund.kind == "return":
            line.returned_quantity += plan.quantity
        else:
            line.refunded_quantity += plan.quantity
        line.total_refunded_tax_incl += plan.tax_incl
        line.total_refunded_tax_excl += plan.tax_excl
        # PrestaShop puts units back when the order was not delivered, or when the merchant asks.
        if refund.restock or (refund.kind != "return" and not delivered):
            units = _restock(line, plan.quantity)
            product, before = restocked.get(line.product_id, (line.product, 0))
            restocked[line.product_id] = (product, before + units)
    for product, units in restocked.values():
        if units:
            # An SQL increment, not a read-modify-write: refunds of other orders may restock it at once.
            product.quantity = Product.quantity + units

    products_incl = sum((plan.tax_incl for plan in plans), ZERO)
    slip = None
    if refund.credit_slip:
        slip = CreditSlip(
            order=order,
            employee=employee,
            at=at,
            total_products_tax_incl=products_incl,
            total_products_tax_excl=sum((plan.tax_excl for plan in plans), ZERO),
            total_shipping_tax_incl=shipping_incl,
            total_shipping_tax_excl=shipping_excl,
            amount=products_incl,
            shipping_cost_amount=shipping_incl,
            # As OrderSlipCreator sets it: "specific amount" as soon as shipping is refunded.
            slip_type=SLIP_TYPE_SPECIFIC_AMOUNT if shipping_incl > 0 else SLIP_TYPE_PRODUCT_PRICES,
            reason=reason,
            note=note,
        )
        for plan in plans:
            slip.lines.append(
                CreditSlipLine(
                    order_line=plan.line,
                    quantity=plan.quantity,
                    amount_tax_excl=plan.tax_excl,
                    amount_tax_incl=plan.tax_incl,
                )
            )
        db.session.add(slip)
    voucher = None
    if refund.voucher:
        voucher = Voucher(
            code=_voucher_code(),
            customer_id=order.customer_id,
            order=order,
            credit_slip=slip,
            amount_tax_incl=products_incl + shipping_incl,
            shipping_tax_incl=ZERO if slip is not None else shipping_incl,
            shipping_tax_excl=ZERO if slip is not None else shipping_excl,
            currency=order.currency,
            created_at=at,
        )
        db.session.add(voucher)
    db.session.flush()
    if slip is not None:
        credit_slip_issued.send(
            order, credit_slip=slip, employee=employee, at=at, kind=refund.kind, reason=reason, note=note
        )
    return RefundResult(slip, voucher, products_incl + shipping_incl)


def _lock_for_refund(order: Order) -> None:
    """Hold the order until the transaction ends, then read its lines and slips afresh.

    Two refunds of one order at once then run one after the other, so the second sees what the first
    refunded and cannot refund the same units, money or shipping again. PostgreSQL locks the row
    (SELECT … FOR UPDATE); SQLite has no row locks, so a no-op update takes its database write lock.
    """
    db.session.flush()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    else:
        db.session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(updated_at=Order.updated_at)
            .execution_options(synchronize_session=False)
        )
    for line in order.lines:
        db.session.expire(line)
    for product in {line.product for line in order.lines}:
        db.session.expire(product)
    db.session.expire(order)


def _plan_shipping(order: Order, shipping: Decimal | bool) -> tuple[Decimal, Decimal]:
    """Return the shipping to refund (tax incl, tax excl); True means all that is left."""
    left_incl, left_excl = shipping_left(order)
    if shipping is True:
        if not left_incl:
            raise RefundRefused("the shipping has already been refunded", "refund_shipping")
        return left_incl, left_excl
    if not shipping:
        return ZERO, ZERO
    if not isinstance(shipping, Decimal) or not shipping.is_finite() or shipping < 0:
        raise RefundRefused("the shipping to refund must be a positive amount, in cents", "shipping_amount")
    if shipping > left_incl:
        if not left_incl:
            raise RefundRefused("the shipping has already been refunded", "shipping_amount")
        raise RefundRefused(f"at most {left_incl:.2f} of shipping is left to refund", "shipping_amount")
    if shipping != money(shipping):
        raise RefundRefused("the shipping to refund must be a positive amount, in cents", "shipping_amount")
    if shipping == left_incl:
        return left_incl, left_excl
    return shipping, _tax_excl(shipping, order.carrier_tax_rate)


def _restock(line: OrderLine, quantity: int) -> int:
    """Count up to quantity units of the line as back in stock, never more than it took; return how many."""
    units = max(min(quantity, line.quantity - line.restocked_quantity), 0)
    line.restocked_quantity += units  # PrestaShop's product_quantity_reinjected
    return units


def _voucher_code() -> str:
    """Return a fresh voucher code, 8 random uppercase letters and digits after a V."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "V" + "".join(secrets.choice(alphabet) for _ in range(8))


def issue_credit_slip(
    order: Order,
    quantities: dict[int, int],
    refund_shipping: bool = False,
    employee: Employee | None = None,
    at: datetime | None = None,
) -> CreditSlip:
    """Issue a partial-refund credit slip for whole units ({order line id: units}) and maybe all the shipping.

    The short form of issue_refund: each unit at its price. Raises RefundRefused as issue_refund does.
    """
    lines = [LineRefund(line_id, quantity) for line_id, quantity in quantities.items() if quantity]
    result = issue_refund(order, Refund(lines=lines, shipping=bool(refund_shipping)), employee, at)
    return result.credit_slip
