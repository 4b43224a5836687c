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

An order's events (credit slips, then entries into ending states after a payment) are taken in time
order; each gives back what it says, capped at what the earlier ones left of the payment. The query
starts from the events dated in the period (found by date through their indexes) and looks up, per
event, what came before it in the same order (through the order id indexes): the cost follows the
period's events, not the size of the shop.
"""

from decimal import Decimal

from sqlalchemy import BigInteger, and_, case, exists, func, literal, null, or_, select, type_coerce, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Subquery

from reports.period import Period
from reports.states import EndingStates
from shop.models import CreditSlip, OrderHistory, Payment

REFUND, CHARGEBACK = "refund", "chargeback"
SLIP, ENTRY = 0, 1  # at the same instant a credit slip comes before a status change


def to_money(value) -> Decimal:
    """Turn integer cents from SQL into a Decimal amount."""
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def cents(column):
    """Read a money column as the integer cents it is stored as, so sums stay exact in SQL."""
    return type_coerce(column, BigInteger)


def _least(a, b):
    return case((a < b, a), else_=b)


def paid_before_entry(history=OrderHistory):
    """Whether a payment of the history row's order was recorded at or before the row."""
    return exists(select(1).where(Payment.order_id == history.order_id, Payment.at <= history.at))


def _before(at, seq: int, row_id, event) -> object:
    """Whether (at, seq, row_id) comes before the event's (at, seq, row_id): the order of events."""
    return or_(
        at < event.c.at,
        and_(at == event.c.at, literal(seq) < event.c.seq),
        and_(at == event.c.at, literal(seq) == event.c.seq, row_id < event.c.row_id),
    )


def _after(at, seq: int, row_id, event) -> object:
    return or_(
        at > event.c.at,
        and_(at == event.c.at, literal(seq) > event.c.seq),
        and_(at == event.c.at, literal(seq) == event.c.seq, row_id > event.c.row_id),
    )


def _slip_amount(slip=CreditSlip):
    return cents(slip.total_products_tax_incl) + cents(slip.total_shipping_tax_incl)


def given_back(states: EndingStates, period: Period | None = None, orders=None) -> Subquery:
    """Each refund and chargeback (dated in period, when given): ``order_id, at, kind, credit_slip_id, amount``.

    Amounts are cents, never negative; ``credit_slip_id`` is set for a credit slip's row. ``orders``, a
    function of an order id column giving a condition, narrows the events to those orders.
    """
    slips = select(
        CreditSlip.order_id,
        CreditSlip.at,
        literal(SLIP).label("seq"),
        CreditSlip.id.label("row_id"),
        literal(REFUND).label("kind"),
        _slip_amount().label("amount"),
    )
    entries = select(
        OrderHistory.order_id,
        OrderHistory.at,
        literal(ENTRY).label("seq"),
        OrderHistory.id.label("row_id"),
        case((OrderHistory.state_id.in_(states.chargeback), CHARGEBACK), else_=REFUND).label("kind"),
        type_coerce(null(), BigInteger).label("amount"),  # everything still left: the payment, capped below
    ).where(OrderHistory.state_id.in_(states.all), paid_before_entry())
    if period is not None:
        slips = slips.where(CreditSlip.at >= period.start, CreditSlip.at < period.end)
        entries = entries.where(OrderHistory.at >= period.start, OrderHistory.at < period.end)
    if orders is not None:
        slips = slips.where(orders(CreditSlip.order_id))
        entries = entries.where(orders(OrderHistory.order_id))
    event = union_all(slips, entries).subquery("event")

    paid = select(func.coalesce(func.sum(cents(Payment.amount)), 0)).where(Payment.order_id == event.c.order_id)
    earlier_slip = aliased(CreditSlip)
    slips_before = select(func.coalesce(func.sum(_slip_amount(earlier_slip)), 0)).where(
        earlier_slip.order_id == event.c.order_id, _before(earlier_slip.at, SLIP, earlier_slip.id, event)
    )
    earlier = aliased(OrderHistory)
    ended_before = exists(
        select(1).where(
            earlier.order_id == event.c.order_id,
            earlier.state_id.in_(states.all),
            _before(earlier.at, ENTRY, earlier.id, event),
            paid_before_entry(earlier),
        )
    )
    # A slip whose very next event is the move to a chargeback state is the chargeback's money.
    move, between_slip, between_entry = aliased(OrderHistory), aliased(CreditSlip), aliased(OrderHistory)
    charged_back_next = exists(
        select(1).where(
            move.order_id == event.c.order_id,
            move.state_id.in_(states.chargeback),
            _after(move.at, ENTRY, move.id, event),
            paid_before_entry(move),
            ~exists(
                select(1)
                .where(
                    between_slip.order_id == event.c.order_id,
                    _after(between_slip.at, SLIP, between_slip.id, event),
                    or_(between_slip.at < move.at, and_(between_slip.at == move.at, literal(SLIP) < literal(ENTRY))),
                )
                .correlate_except(between_slip)
            ),
            ~exists(
                select(1)
                .where(
                    between_entry.order_id == event.c.order_id,
                    between_entry.state_id.in_(states.all),
                    _after(between_entry.at, ENTRY, between_entry.id, event),
                    or_(between_entry.at < move.at, and_(between_entry.at == move.at, between_entry.id < move.id)),
                    paid_before_entry(between_entry),
                )
                .correlate_except(between_entry)
            ),
        )
    )
    looked_up = select(
        event.c.order_id,
        event.c.at,
        case((and_(event.c.seq == SLIP, charged_back_next), CHARGEBACK), else_=event.c.kind).label("kind"),
        case((event.c.seq == SLIP, event.c.row_id)).label("credit_slip_id"),
        event.c.amount,
        paid.scalar_subquery().label("paid"),
        slips_before.scalar_subquery().label("slips_before"),
        ended_before.label("ended_before"),
    )
    # OFFSET 0 keeps PostgreSQL from inlining this subquery, which would copy each lookup into every
    # expression below that uses its result (the payment's sum was run four times per event).
    looked_up = looked_up.offset(0).subquery("looked_up")
    # An earlier full refund or chargeback gave back everything: nothing is left after it.
    before = looked_up.c.slips_before + case((looked_up.c.ended_before, looked_up.c.paid), else_=0)
    amount = func.coalesce(looked_up.c.amount, looked_up.c.paid)
    share = _least(looked_up.c.paid, before + amount) - _least(looked_up.c.paid, before)
    return select(
        looked_up.c.order_id,
        looked_up.c.at,
        looked_up.c.kind,
        looked_up.c.credit_slip_id,
        share.label("amount"),
    ).subquery("given_back")
