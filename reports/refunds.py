"""What each order gave back and when: its refunds and chargebacks, each with its date and amount.

The rule, as the reports page states it:
- a credit slip gives back its products and shipping, tax included, on the slip's date;
- entering a full-refund state (Refunded, Canceled, Returned) after the order was paid gives back what
  was paid and not yet covered by credit slips, on the date of that status change; entering a
  chargeback state does the same, counted as a chargeback instead of a refund;
- a credit slip issued right before the order moves to a chargeback state is the chargeback's amount
  (that is how postbacks record a chargeback), not a refund;
- an order never gives back more than was paid for it (its recorded payments), so an unpaid order
  that is canceled gives back nothing, and Canceled followed by Refunded counts the money once.

The events of an order are taken in time order and each gives back what it says, capped at what is
left of the payment. That running cap is one window function, so the database does it all.
"""

from sqlalchemy import BigInteger, and_, case, exists, func, literal, null, select, type_coerce, union, union_all
from sqlalchemy.sql import Subquery

from reports.period import Period
from reports.states import EndingStates
from shop.models import CreditSlip, OrderHistory, Payment

REFUND, CHARGEBACK = "refund", "chargeback"


def cents(column):
    """Read a money column as the integer cents it is stored as, so sums stay exact in SQL."""
    return type_coerce(column, BigInteger)


def _least(a, b):
    return case((a < b, a), else_=b)


def paid_before_entry(history=OrderHistory):
    """Whether a payment of the history row's order was recorded at or before the row."""
    return exists(select(1).where(Payment.order_id == history.order_id, Payment.at <= history.at))


def given_back(period: Period, states: EndingStates, only_in_period: bool = True) -> Subquery:
    """Each refund and chargeback dated in period: ``order_id, at, kind, credit_slip_id, amount``.

    Amounts are cents, never negative; ``credit_slip_id`` is set for a credit slip's row.

    With ``only_in_period`` false: every refund and chargeback, whenever dated, of the orders that have
    one in period (what they gave back in all).
    """
    slip_in_period = and_(CreditSlip.at >= period.start, CreditSlip.at < period.end)
    entry_in_period = and_(
        OrderHistory.state_id.in_(states.all), OrderHistory.at >= period.start, OrderHistory.at < period.end
    )
    # Only orders with something dated in the period; their earlier events still count toward the cap.
    orders = union(
        select(CreditSlip.order_id).where(slip_in_period),
        select(OrderHistory.order_id).where(entry_in_period),
    ).subquery()
    slips = select(
        CreditSlip.order_id,
        CreditSlip.at,
        literal(0).label("seq"),
        CreditSlip.id.label("row_id"),
        literal(REFUND).label("kind"),
        (cents(CreditSlip.total_products_tax_incl) + cents(CreditSlip.total_shipping_tax_incl)).label("amount"),
    ).where(CreditSlip.order_id.in_(select(orders.c.order_id)))
    entries = select(
        OrderHistory.order_id,
        OrderHistory.at,
        literal(1).label("seq"),
        OrderHistory.id.label("row_id"),
        case((OrderHistory.state_id.in_(states.chargeback), CHARGEBACK), else_=REFUND).label("kind"),
        type_coerce(null(), BigInteger).label("amount"),  # everything still left: the payment, capped below
    ).where(
        OrderHistory.order_id.in_(select(orders.c.order_id)),
        OrderHistory.state_id.in_(states.all),
        paid_before_entry(),
    )
    events = union_all(slips, entries).subquery("events")
    paid = (
        select(func.coalesce(func.sum(cents(Payment.amount)), 0))
        .where(Payment.order_id == events.c.order_id)
        .scalar_subquery()
    )
    in_order = {"partition_by": events.c.order_id, "order_by": (events.c.at, events.c.seq, events.c.row_id)}
    with_paid = select(
        events, paid.label("paid"), func.lead(events.c.kind).over(**in_order).label("next_kind")
    ).subquery("with_paid")
    amount = func.coalesce(with_paid.c.amount, with_paid.c.paid)
    # A chargeback is recorded as a credit slip for its amount, then the move to the chargeback state
    # (postbacks do so): a slip right before that move is the chargeback's money, not a refund.
    kind = case((and_(with_paid.c.seq == 0, with_paid.c.next_kind == CHARGEBACK), CHARGEBACK), else_=with_paid.c.kind)
    running = select(
        with_paid.c.order_id,
        with_paid.c.at,
        kind.label("kind"),
        case((with_paid.c.seq == 0, with_paid.c.row_id)).label("credit_slip_id"),
        with_paid.c.paid,
        amount.label("amount"),
        func.sum(amount)
        .over(
            partition_by=with_paid.c.order_id,
            order_by=(with_paid.c.at, with_paid.c.seq, with_paid.c.row_id),
        )
        .label("running"),
    ).subquery("running")
    share = _least(running.c.paid, running.c.running) - _least(running.c.paid, running.c.running - running.c.amount)
    statement = select(
        running.c.order_id, running.c.at, running.c.kind, running.c.credit_slip_id, share.label("amount")
    )
    if only_in_period:
        statement = statement.where(running.c.at >= period.start, running.c.at < period.end)
    return statement.subquery("given_back")
