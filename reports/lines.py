"""What each product line gave back and when: the rule of the report by product, on the order's events.

Only product lines count, tax included; shipping and discounts belong to no product. Given back: a
credit slip's lines on the slip's date (for a slip issued after the order was paid); for an order
entering a full-refund state after it was paid, what no credit slip gave back of each line, on the date
of the first such change. A chargeback counts the same, as a chargeback, for orders never refunded in
full; a credit slip that is a chargeback's amount (reports.refunds) counts as a chargeback too.
"""

from sqlalchemy import and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from reports.refunds import CHARGEBACK, REFUND, cents, paid_before_entry
from reports.states import EndingStates
from shop.models import CreditSlip, CreditSlipLine, OrderHistory, OrderLine, Payment


def lines_given_back(states: EndingStates, orders, chargeback_slips):
    """Each product line the orders gave back: ``order_id, at, product_id, kind, amount`` (cents).

    ``orders`` is a function of an order id column giving the condition that picks the orders;
    ``chargeback_slips`` the ids of the credit slips that are a chargeback's amount (reports.refunds:
    read first, a few ids: as a subquery inside the CASE below, PostgreSQL would run it per slip line).
    """
    paid_before_slip = select(1).where(Payment.order_id == CreditSlip.order_id, Payment.at <= CreditSlip.at).exists()
    slip_lines = (
        select(
            CreditSlip.order_id,
            CreditSlip.at,
            OrderLine.product_id,
            case((CreditSlip.id.in_(chargeback_slips), CHARGEBACK), else_=REFUND).label("kind"),
            cents(CreditSlipLine.amount_tax_incl).label("amount"),
        )
        .select_from(CreditSlipLine)
        .join(CreditSlip, CreditSlip.id == CreditSlipLine.credit_slip_id)
        .join(OrderLine, OrderLine.id == CreditSlipLine.order_line_id)
        .where(orders(CreditSlip.order_id), paid_before_slip)
    )
    # What no credit slip gave back of a line: its total less its slip lines' amounts.
    slipped = (
        select(func.coalesce(func.sum(cents(CreditSlipLine.amount_tax_incl)), 0))
        .where(CreditSlipLine.order_line_id == OrderLine.id)
        .scalar_subquery()
    )
    left = cents(OrderLine.unit_price_tax_incl) * OrderLine.quantity - slipped

    def remainders(entries, kind: str):
        first = entries.subquery()
        return (
            select(OrderLine.order_id, first.c.at, OrderLine.product_id, literal(kind), left)
            .join(first, first.c.order_id == OrderLine.order_id)
            .where(orders(OrderLine.order_id), left > 0)  # the orders' lines (by index), not every line
        )

    refunded = _first_entry(orders, states.full_refund)
    charged_back = _first_entry(orders, states.chargeback, excluded=states.full_refund)
    return union_all(slip_lines, remainders(refunded, REFUND), remainders(charged_back, CHARGEBACK)).subquery(
        "lines_given_back"
    )


def _first_entry(orders, state_ids: tuple[int, ...], excluded: tuple[int, ...] = ()):
    """The orders' first entry (after payment) into one of state_ids: ``order_id, at``.

    ``excluded``: orders ever in one of these states (after payment) are left out.
    """
    earlier = aliased(OrderHistory)
    first = select(OrderHistory.order_id, OrderHistory.at).where(
        orders(OrderHistory.order_id),
        OrderHistory.state_id.in_(state_ids),
        paid_before_entry(),
        ~exists(
            select(1).where(
                earlier.order_id == OrderHistory.order_id,
                earlier.state_id.in_(state_ids),
                or_(earlier.at < OrderHistory.at, and_(earlier.at == OrderHistory.at, earlier.id < OrderHistory.id)),
                paid_before_entry(earlier),
            )
        ),
    )
    if excluded:
        other = aliased(OrderHistory)
        first = first.where(
            ~exists(
                select(1).where(
                    other.order_id == OrderHistory.order_id, other.state_id.in_(excluded), paid_before_entry(other)
                )
            )
        )
    return first
