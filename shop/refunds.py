"""Partial refunds: credit slips for chosen lines and shipping; the order's state does not change."""

from datetime import datetime
from decimal import Decimal

from core.dbtypes import utcnow
from extensions import db
from shop.models import CreditSlip, CreditSlipLine, Employee, Order, OrderLine
from shop.signals import credit_slip_issued


class RefundRefused(ValueError):
    """A credit slip that may not be issued, with the reason; nothing was written."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def shipping_refundable(order: Order) -> bool:
    """Whether the shipping has not been refunded yet by an earlier slip."""
    return not any(slip.total_shipping_tax_incl > 0 for slip in order.credit_slips)


def issue_credit_slip(
    order: Order,
    quantities: dict[int, int],
    refund_shipping: bool = False,
    employee: Employee | None = None,
    at: datetime | None = None,
) -> CreditSlip:
    """Issue a credit slip refunding ``quantities`` ({order line id: units}) and maybe the shipping.

    Raises RefundRefused, having written nothing, when a line is not the order's, a quantity is
    not positive or exceeds what is left to refund, or there is nothing to refund. The caller commits.
    """
    lines: dict[int, OrderLine] = {line.id: line for line in order.lines}
    wanted = {line_id: qty for line_id, qty in quantities.items() if qty}
    for line_id, quantity in wanted.items():
        line = lines.get(line_id)
        if line is None:
            raise RefundRefused(f"line {line_id} is not a line of order {order.reference}", "lines")
        if not isinstance(quantity, int) or quantity < 0:
            raise RefundRefused(f"the quantity for {line.product_name} must be a positive whole number", "lines")
        if quantity > line.refundable_quantity:
            raise RefundRefused(
                f"only {line.refundable_quantity} of {line.product_name} can still be refunded", "lines"
            )
    if refund_shipping and not shipping_refundable(order):
        raise RefundRefused("the shipping has already been refunded", "refund_shipping")
    if not wanted and not refund_shipping:
        raise RefundRefused("choose at least one product quantity or the shipping to refund", "lines")

    slip = CreditSlip(
        order=order,
        employee=employee,
        at=at or utcnow(),
        total_products_tax_excl=Decimal("0.00"),
        total_products_tax_incl=Decimal("0.00"),
    )
    for line_id, quantity in wanted.items():
        line = lines[line_id]
        row = CreditSlipLine(
            order_line=line,
            quantity=quantity,
            amount_tax_excl=line.unit_price_tax_excl * quantity,
            amount_tax_incl=line.unit_price_tax_incl * quantity,
        )
        slip.lines.append(row)
        slip.total_products_tax_excl += row.amount_tax_excl
        slip.total_products_tax_incl += row.amount_tax_incl
        line.refunded_quantity += quantity
    if refund_shipping:
        slip.total_shipping_tax_excl = order.total_shipping_tax_excl
        slip.total_shipping_tax_incl = order.total_shipping_tax_incl
    else:
        slip.total_shipping_tax_excl = slip.total_shipping_tax_incl = Decimal("0.00")
    db.session.add(slip)
    db.session.flush()
    credit_slip_issued.send(order, credit_slip=slip, employee=employee, at=slip.at)
    return slip
