"""Processing: turn a queued postback into the refund the back office would record.

One postback is processed in one transaction: claim the row (a conditional UPDATE, so two runners never
both process it), lock the order, check the amount against what is left to refund, then issue a credit
slip for the amount and, when the postback is a chargeback or covers what is left, change the order's
state through ``shop.status.change_state``. Every module reacts exactly as to a back-office refund
(``credit-slip-issued``, then ``order-status-changed``). A refusal writes only its reason on the row.
"""

import logging
from decimal import Decimal

from sqlalchemy import select, update

from core.dbtypes import utcnow
from extensions import db
from postbacks.models import CHARGEBACK, PROCESSED, RECEIVED, REFUSED, STRIPE, Postback
from postbacks.slips import issue_amount_credit_slip
from shop.models import Order, OrderState
from shop.refunds import RefundRefused
from shop.states import CHARGEBACK_KEY, chargeback_state
from shop.status import change_state

log = logging.getLogger(__name__)

PROCESSING = "processing"  # only ever seen inside the processing transaction
REFUND_KEY = "PS_OS_REFUND"
# States after which nothing is left to refund: the money went back (or the bank took it back).
FULLY_REFUNDED_KEYS = (REFUND_KEY, CHARGEBACK_KEY, "PS_OS_CANCELED")
ZERO = Decimal("0.00")


class Refused(Exception):
    """A postback that refunds nothing, with the reason recorded on it."""


def left_to_refund(order: Order) -> Decimal:
    """Return what may still be refunded: what was paid less the credit slips, nothing after a full refund."""
    if order.current_state is not None and order.current_state.key in FULLY_REFUNDED_KEYS:
        return ZERO
    return max(ZERO, order.amount_paid - order.refunded_total)


def pending_ids(limit: int = 100) -> list[int]:
    """Return the ids of queued postbacks, oldest first."""
    statement = select(Postback.id).where(Postback.status == RECEIVED).order_by(Postback.id).limit(limit)
    ids = list(db.session.scalars(statement))
    db.session.commit()
    return ids


def process_pending(limit: int = 100) -> int:
    """Process queued postbacks until none is left (at most ``limit`` per pass); return how many."""
    done = 0
    while ids := pending_ids(limit):
        for postback_id in ids:
            done += process(postback_id)
        if len(ids) < limit:
            break
    return done


def process(postback_id: int) -> bool:
    """Process one queued postback and commit; False when another runner had it already."""
    claimed = db.session.execute(
        update(Postback).where(Postback.id == postback_id, Postback.status == RECEIVED).values(status=PROCESSING)
    ).rowcount
    if not claimed:
        db.session.rollback()
        return False
    postback = db.session.get(Postback, postback_id)
    try:
        with db.session.begin_nested():
            postback.outcome = _refund(postback)
            postback.status = PROCESSED
    except Refused as refusal:
        postback.status, postback.outcome = REFUSED, str(refusal)
    except RefundRefused as refusal:
        postback.status, postback.outcome = REFUSED, str(refusal)
    except Exception as error:  # a bug must not leave the row queued forever, nor half a refund
        log.exception("postback %s could not be processed", postback_id)
        postback.status, postback.outcome = REFUSED, f"error: {type(error).__name__}"
    postback.processed_at = utcnow()
    db.session.commit()
    return True


def _refund(postback: Postback) -> str:
    """Record the postback's refund on its order; return what was done, or raise Refused."""
    order = _find_order(postback)
    postback.order_id = order.id
    if postback.currency and postback.currency != order.currency:
        raise Refused(f"the refund is in {postback.currency}, order {order.reference} in {order.currency}")
    amount = _amount(postback)
    if order.amount_paid <= 0:
        raise Refused(f"order {order.reference} was never paid")
    left = left_to_refund(order)
    if left <= 0:
        raise Refused(f"order {order.reference} is already fully refunded")
    if amount > left:
        raise Refused(f"the amount {amount} is more than what is left to refund on order {order.reference} ({left})")

    final = postback.kind == CHARGEBACK or amount == left
    try:
        with db.session.begin_nested():
            slip = issue_amount_credit_slip(order, amount, reason=postback.reason)
    except RefundRefused as refusal:
        # PrestaShop refunds lines by the unit: once every unit and the shipping carry a refund, money still
        # left on the order fits no credit slip. A merchant would set Refunded; so do we, for what is left.
        if not final:
            raise Refused(
                f"{refusal}: no credit slip can carry {amount} on order {order.reference}; "
                f"a postback for all that is left ({left}) moves it to Refunded"
            ) from None
        slip = None
    postback.refunded = amount
    if slip is not None:
        postback.credit_slip_id = slip.id
        done = f"credit slip #{slip.id} of {amount} {order.currency}"
    else:
        done = f"{amount} {order.currency} refunded without a credit slip (no unit or shipping left to carry it)"
    if postback.kind == CHARGEBACK:
        new_state = chargeback_state()
    elif final:
        new_state = OrderState.by_key(REFUND_KEY)
    else:
        return done
    if order.current_state_id != new_state.id:
        change_state(order, new_state, reason=postback.reason)
        done += f"; order moved to {new_state.name}"
    return done


def _find_order(postback: Postback) -> Order:
    """Return the order the postback names (click id, reference, or a Stripe charge seen before), locked."""
    by_click = by_reference = None
    if postback.cid:
        by_click = db.session.scalar(_locked(select(Order).where(Order.click_id == postback.cid).limit(1)))
        if by_click is None:
            raise Refused(f"no order has the click id {postback.cid}")
    if postback.ref:
        by_reference = db.session.scalar(_locked(select(Order).where(Order.reference == postback.ref)))
        if by_reference is None:
            raise Refused(f"no order has the reference {postback.ref}")
    if by_click is not None and by_reference is not None and by_click.id != by_reference.id:
        raise Refused(f"the click id and the reference {postback.ref} name different orders")
    order = by_click or by_reference
    if order is None and postback.charge_id:
        # A dispute carries its charge's id but not the charge's metadata: use an earlier event of that charge.
        earlier = select(Postback.order_id).where(
            Postback.source == STRIPE, Postback.charge_id == postback.charge_id, Postback.order_id.is_not(None)
        )
        order_id = db.session.scalar(earlier.limit(1))
        order = db.session.scalar(_locked(select(Order).where(Order.id == order_id))) if order_id else None
        if order is None:
            raise Refused(f"no order found for charge {postback.charge_id} (metadata.order_reference is missing)")
    if order is None:
        raise Refused("the postback names no order")
    return order


def _locked(statement):
    """Lock the order row for the transaction (PostgreSQL; SQLite's write lock already serializes)."""
    return statement.with_for_update() if db.engine.dialect.name == "postgresql" else statement


def _amount(postback: Postback) -> Decimal:
    """Return the amount to refund; for charge.refunded, Stripe's running total less what we recorded."""
    if postback.event_type != "charge.refunded":
        return postback.amount
    recorded = sum(
        db.session.scalars(
            select(Postback.refunded).where(
                Postback.source == STRIPE,
                Postback.event_type == "charge.refunded",
                Postback.charge_id == postback.charge_id,
                Postback.status == PROCESSED,
            )
        ),
        ZERO,
    )
    new = postback.amount - recorded
    if new <= 0:
        raise Refused(f"nothing new: {postback.amount} refunded on charge {postback.charge_id} is already recorded")
    return new
