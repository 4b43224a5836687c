"""A credit slip for an amount rather than for chosen lines, through the shop's refund service.

The amount is planned over the order, then handed to ``shop.refunds.issue_refund`` as a partial refund with
amounts: the back office's own service, so the slip, the lines' refunded money and quantities and the
``credit-slip-issued`` signal are exactly a back-office refund's. The plan, in this order:

1. whole units of each line, at their price, as many as the amount covers;
2. the shipping, up to what is left of it;
3. what remains as part of a line's money.

Whole units and shipping come first because PrestaShop counts every line a refund touches as at least one
unit refunded: a few cents taken from a line early would use up a unit whose money a later refund needs.
"""

from datetime import datetime
from decimal import Decimal

from shop.models import CreditSlip, Order
from shop.refunds import LineRefund, Refund, RefundRefused, issue_refund, shipping_left

ZERO = Decimal("0.00")


def issue_amount_credit_slip(
    order: Order, amount: Decimal, at: datetime | None = None, reason: str | None = None
) -> CreditSlip:
    """Issue a credit slip of ``amount`` (tax included); the caller commits.

    Raises RefundRefused, having written nothing, when the amount is not positive or more than the
    order's lines and shipping have left.
    """
    if amount <= 0:
        raise RefundRefused("the amount must be more than 0", "amount")
    remaining = amount
    planned: dict[int, LineRefund] = {}
    for line in order.lines:
        unit = line.unit_price_tax_incl
        if unit <= 0 or line.refundable_quantity < 1:
            continue
        units = min(line.refundable_quantity, int(remaining // unit))
        money = min(unit * units, line.refundable_amount)
        if units and money > 0:
            planned[line.id] = LineRefund(line.id, units, money)
            remaining -= money
    shipping = max(min(shipping_left(order)[0], remaining), ZERO)
    remaining -= shipping
    for line in order.lines:
        if remaining <= 0:
            break
        wanted = planned.get(line.id)
        room = line.refundable_amount - (wanted.amount if wanted else ZERO)
        if room <= 0 or (wanted is None and line.refundable_quantity < 1):
            continue
        wanted = planned.setdefault(line.id, LineRefund(line.id, 1, ZERO))
        take = min(room, remaining)
        wanted.amount += take
        remaining -= take
    if remaining > 0:
        raise RefundRefused(f"{amount} is more than the order's lines and shipping have left", "amount")
    refund = Refund(lines=list(planned.values()), shipping=shipping)
    return issue_refund(order, refund, at=at, reason=reason).credit_slip
