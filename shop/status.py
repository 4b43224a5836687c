"""The one service that changes an order's state, in PrestaShop's order of effects."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, selectinload

from core.dbtypes import utcnow
from extensions import db
from shop.models import Employee, Order, OrderHistory, OrderState, Payment
from shop.signals import order_status_changed, order_status_update, payment_confirmed
from shop.states import PAYMENT_CONFIRMATION_KEYS

log = logging.getLogger(__name__)


class StateAlreadyAssigned(Exception):
    """The order already has the state asked for."""

    def __init__(self, order: Order, state: OrderState):
        super().__init__(f"order {order.reference} is already in state {state.name}")
        self.order = order
        self.state = state


def change_state(
    order: Order,
    new_state: OrderState,
    employee: Employee | None = None,
    at: datetime | None = None,
    reason: str | None = None,
    note: str | None = None,
) -> OrderHistory:
    """Move order to new_state; the caller commits, so receivers' rows share the transaction.

    Effects, in order: hold the order against concurrent changes; refuse an unchanged state;
    ``payment-confirmed`` (into Payment accepted or Remote payment accepted); ``order-status-update``
    (old state still set); state and ``valid``; the invoice number the first time a state has
    invoice=1; the payment of what is unpaid;
    ``order-status-changed``; the history row; the status e-mail.
    """
    _hold(order)
    old_state = order.current_state
    if old_state is not None and old_state.id == new_state.id:
        raise StateAlreadyAssigned(order, new_state)
    at = at or utcnow()
    if new_state.key in PAYMENT_CONFIRMATION_KEYS:
        payment_confirmed.send(order, new_state=new_state, employee=employee, at=at)
    order_status_update.send(order, new_state=new_state, employee=employee, at=at)

    order.current_state = new_state
    order.valid = new_state.logable
    order.updated_at = at
    if new_state.invoice and order.invoice_number is None:
        set_invoice(order, at)
    if new_state.paid:
        _record_payment_of_unpaid(order, at)
    db.session.flush()

    order_status_changed.send(
        order, old_state=old_state, new_state=new_state, employee=employee, at=at, reason=reason, note=note
    )

    history = OrderHistory(order_id=order.id, state=new_state, employee=employee, at=at, reason=reason, note=note)
    order.history.append(history)
    db.session.flush()
    if new_state.send_email:
        # The shop sends no real mail; the log line stands for PrestaShop's order_conf/refund e-mails.
        log.info("status e-mail '%s' for order %s", new_state.name, order.reference)
    return history


def _hold(order: Order) -> None:
    """Hold order until the transaction ends, and make sure its state is the latest committed one.

    Two admins changing the same order at once must not both pass the "already assigned" check:
    the second waits for the first, then sees its state (and gets 409 for the same state).
    PostgreSQL locks the row (SELECT … FOR UPDATE); SQLite has no row locks, so a conditional
    update takes its database write lock and says whether the state read is still current.
    """
    if order.id is None:  # a new order, not yet visible to anyone else
        return
    read_state_id = order.current_state_id
    if db.session.get_bind().dialect.name == "postgresql":
        current = db.session.execute(
            select(Order.current_state_id).where(Order.id == order.id).with_for_update()
        ).scalar_one()
        changed = current != read_state_id
    else:
        same_state = (
            Order.current_state_id.is_(None) if read_state_id is None else Order.current_state_id == read_state_id
        )
        claim = (
            update(Order)
            .where(Order.id == order.id, same_state)
            .values(current_state_id=Order.current_state_id, updated_at=Order.updated_at)  # a no-op write
            .execution_options(synchronize_session=False)
        )
        changed = db.session.execute(claim).rowcount == 0
    if changed:
        db.session.refresh(order)


def was_paid_before(order: Order, at: datetime | None = None) -> bool:
    """Whether the order had been paid before the change now under way.

    Judged on history, never on ``valid``: by the time ``order-status-changed`` fires, ``valid``
    follows the new state (0 for Refunded), and "On backorder (paid)" is paid though not logable.
    The change's own history row is added after the signal, so every row seen here is earlier.
    """
    if any(entry.state.paid for entry in order.history):
        return True
    return any(payment.at < at for payment in order.payments) if at else bool(order.payments)


def set_invoice(order: Order, at: datetime) -> None:
    """Give the order the next invoice number (PrestaShop's Order::setInvoice, numbers from 1)."""
    # Lock-free: the unique index refuses a number taken by a concurrent change, which then rolls back.
    last = db.session.scalar(select(func.max(Order.invoice_number)))
    order.invoice_number = (last or 0) + 1
    order.invoice_date = at


def _record_payment_of_unpaid(order: Order, at: datetime) -> None:
    unpaid = order.total_paid_tax_incl - order.amount_paid
    if unpaid > 0:
        order.payments.append(Payment(amount=unpaid, currency=order.currency, method=order.payment_method, at=at))


@dataclass
class BulkResult:
    """What a bulk status change did: the orders changed and those skipped, with why."""

    changed: list[int] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


def change_states(
    order_ids: list[int],
    new_state: OrderState,
    employee: Employee | None = None,
    reason: str | None = None,
    note: str | None = None,
) -> BulkResult:
    """Change each order in list order, as PrestaShop's bulk action does; skip and report the rest.

    One refund reason and note, when given, go with every change.
    Each order changes inside a savepoint, so one failing order leaves the others' changes intact.
    The caller commits.
    """
    result = BulkResult()
    # Load what every change reads (state, payments, history) up front: one query per kind, not per order.
    statement = (
        select(Order)
        .where(Order.id.in_(set(order_ids)))
        .options(
            joinedload(Order.current_state),
            selectinload(Order.payments),
            selectinload(Order.history).joinedload(OrderHistory.state),
        )
    )
    orders = {o.id: o for o in db.session.scalars(statement).unique()}
    seen: set[int] = set()
    for order_id in order_ids:
        order = orders.get(order_id)
        if order_id in seen:
            result.skipped.append({"id": order_id, "reason": "listed twice"})
            continue
        seen.add(order_id)
        if order is None:
            result.skipped.append({"id": order_id, "reason": "no such order"})
            continue
        if order.current_state_id == new_state.id:
            result.skipped.append({"id": order_id, "reason": f"already in state {new_state.name}"})
            continue
        try:
            with db.session.begin_nested():
                change_state(order, new_state, employee, reason=reason, note=note)
        except StateAlreadyAssigned:  # another admin moved it there meanwhile
            result.skipped.append({"id": order_id, "reason": f"already in state {new_state.name}"})
            continue
        except Exception as error:  # one broken order must not stop the batch
            log.exception("bulk status change failed for order %s", order_id)
            result.skipped.append({"id": order_id, "reason": f"error: {error.__class__.__name__}"})
            continue
        result.changed.append(order_id)
    return result
