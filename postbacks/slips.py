"""A credit slip for an amount rather than for chosen lines: the amount is spread over the order's lines, then
its shipping, each up to what is left of it, so the slip's totals (the truth every refund module reads) add up
to exactly the amount. Whole units the money now covers count as refunded quantities.
"""

from datetime import datetime
from decimal import Decimal

from core.dbtypes import money, utcnow
from extensions import db
from shop.models import CreditSlip, CreditSlipLine, Order
from shop.refunds import RefundRefused
from shop.signals import credit_slip_issued

ZERO = Decimal("0.00")


def issue_amount_credit_slip(order: Order, amount: Decimal, reason: str | None = None, at: datetime | None = None):
    """Issue a credit slip of ``amount`` (tax included) and send ``credit-slip-issued``; the caller commits.

    Raises RefundRefused, having written nothing, when the amount is not positive or exceeds what the
    order's lines and shipping have left.
    """
    if amount <= 0:
        raise RefundRefused("the amount must be more than 0", "amount")
    refunded_per_line: dict[int, Decimal] = {}
    shipping_refunded = ZERO
    for slip in order.credit_slips:
        shipping_refunded += slip.total_shipping_tax_incl
        for row in slip.lines:
            refunded_per_line[row.order_line_id] = refunded_per_line.get(row.order_line_id, ZERO) + row.amount_tax_incl

    remaining = amount
    rows = []
    for line in order.lines:
        room = line.unit_price_tax_incl * line.quantity - refunded_per_line.get(line.id, ZERO)
        take = min(room, remaining)
        if take <= 0:
            continue
        remaining -= take
        covered_units = min(
            line.quantity, int((refunded_per_line.get(line.id, ZERO) + take) // line.unit_price_tax_incl)
        )
        rows.append((line, take, max(0, covered_units - line.refunded_quantity)))
    shipping_take = min(order.total_shipping_tax_incl - shipping_refunded, remaining)
    shipping_take = max(shipping_take, ZERO)
    remaining -= shipping_take
    if remaining > 0:
        raise RefundRefused(f"{amount} is more than the order's lines and shipping have left", "amount")

    slip = CreditSlip(order=order, at=at or utcnow(), total_products_tax_excl=ZERO, total_products_tax_incl=ZERO)
    for line, take, units in rows:
        excl = _tax_excl(take, line.unit_price_tax_incl, line.unit_price_tax_excl)
        slip.lines.append(CreditSlipLine(order_line=line, quantity=units, amount_tax_excl=excl, amount_tax_incl=take))
        slip.total_products_tax_incl += take
        slip.total_products_tax_excl += excl
        line.refunded_quantity += units
    slip.total_shipping_tax_incl = shipping_take
    slip.total_shipping_tax_excl = _tax_excl(
        shipping_take, order.total_shipping_tax_incl, order.total_shipping_tax_excl
    )
    db.session.add(slip)
    db.session.flush()
    credit_slip_issued.send(order, credit_slip=slip, employee=None, at=slip.at, reason=reason)
    return slip


def _tax_excl(amount_incl: Decimal, full_incl: Decimal, full_excl: Decimal) -> Decimal:
    """Return the tax-excluded part of amount_incl, at the rate full_excl / full_incl."""
    if amount_incl == 0 or full_incl == 0:
        return ZERO
    return money(amount_incl * full_excl / full_incl)
