"""The one service that changes an order's state, in PrestaShop's order of effects."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import func, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import MANYTOONE, joinedload, selectinload

from core.dbtypes import utcnow
from core.gcpause import collections_paused
from extensions import db
from shop import batch
from shop.models import CreditSlip, CreditSlipLine, Employee, Order, OrderHistory, OrderState, Payment
from shop.signals import order_batch_loaded, order_status_changed, order_status_update, payment_confirmed
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
    if not batch.running():  # in a bulk batch, the one flush below writes it (a receiver's query autoflushes)
        db.session.flush()

    order_status_changed.send(
        order, old_state=old_state, new_state=new_state, employee=employee, at=at, reason=reason, note=note
    )

    history = OrderHistory(order_id=order.id, state=new_state, employee=employee, at=at, reason=reason, note=note)
    order.history.append(history)
    if batch.running():  # the batch's one flush writes it; the e-mail goes once the batch is written
        if new_state.send_email:
            batch.shared().setdefault(_MAILS, []).append((new_state.name, order.reference))
        return history
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
    held = batch.per_order(_HELD)
    if held and order.id in held:  # held with its whole batch (_hold_batch)
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
    if batch.running():  # the batch's orders are not flushed yet: count its numbers here, without a flush
        numbers = batch.shared()
        if _INVOICE not in numbers:
            with db.session.no_autoflush:
                numbers[_INVOICE] = db.session.scalar(select(func.max(Order.invoice_number))) or 0
        numbers[_INVOICE] += 1
        order.invoice_number = numbers[_INVOICE]
    else:
        last = db.session.scalar(select(func.max(Order.invoice_number)))
        order.invoice_number = (last or 0) + 1
    order.invoice_date = at


def _record_payment_of_unpaid(order: Order, at: datetime) -> None:
    unpaid = order.total_paid_tax_incl - order.amount_paid
    if unpaid > 0:
        order.payments.append(Payment(amount=unpaid, currency=order.currency, method=order.payment_method, at=at))


BATCH_SIZE = 500  # orders per batch: one flush, one lock statement, one read per kind of row
MAX_ID = 2**63 - 1
_HELD = "shop.held"
_MAILS = "shop.mails"
_INVOICE = "shop.last invoice number"


@dataclass
class BulkResult:
    """What a bulk status change did: the orders changed and those skipped, with why."""

    changed: list[int] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


HOLD_AT_ONCE = 5000  # ids per locking statement (an IN list every database takes)


def change_states(
    order_ids: list[int],
    new_state: OrderState,
    employee: Employee | None = None,
    reason: str | None = None,
    note: str | None = None,
    batch_size: int | None = None,
    already_listed: Iterable[int] = (),
) -> BulkResult:
    """Change each order in list order, as PrestaShop's bulk action does; skip and report the rest.

    One refund reason and note, when given, go with every change.
    Each order changes as if in a savepoint of its own (one failing order is left unchanged and the
    others go through) and sends its own signals. Orders go in batches (``shop.batch``): a batch's
    orders, what their receivers read and their lock are loaded once, and its rows written by one
    flush. The caller commits.
    """
    result = BulkResult()
    size = batch_size or BATCH_SIZE
    seen: set[int] = set(already_listed)  # ids of earlier slices of the same list (a background job's)
    with collections_paused():
        if len(order_ids) > size:
            _hold_in_id_order(order_ids)
        for start in range(0, len(order_ids), size):
            _change_batch(order_ids[start : start + size], new_state, employee, reason, note, seen, result)
    return result


def _hold_in_id_order(order_ids: list) -> None:
    """Hold every listed order before the first batch, in id order (PostgreSQL's row locks).

    Each batch holds its own orders in id order, but batches follow the list: two bulk changes of the
    same orders listed in opposite orders (two admins sorting the list each their way) would each hold
    a batch the other needs next, and PostgreSQL would abort one. SQLite's write lock is the whole
    database's, taken by the first batch. A background job's slices are one batch each.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted({i for i in order_ids if isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID})
    for start in range(0, len(ids), HOLD_AT_ONCE):
        chunk = ids[start : start + HOLD_AT_ONCE]
        db.session.execute(select(Order.id).where(Order.id.in_(chunk)).order_by(Order.id).with_for_update())


def _change_batch(
    order_ids: list[int],
    new_state: OrderState,
    employee: Employee | None,
    reason: str | None,
    note: str | None,
    seen: set[int],
    result: BulkResult,
) -> None:
    """Change one batch of a bulk change, reporting each of its ids into result, in list order."""
    orders = _load_batch({i for i in order_ids if isinstance(i, int) and 0 < i <= MAX_ID and i not in seen})
    listed: list[tuple[int, Order | str]] = []  # each id with its order, or why it is skipped already
    for order_id in order_ids:
        order = orders.get(order_id)
        if order_id in seen:
            listed.append((order_id, "listed twice"))
        elif order is None:
            listed.append((order_id, "no such order"))
        elif order.current_state_id == new_state.id:
            listed.append((order_id, f"already in state {new_state.name}"))
        else:
            listed.append((order_id, order))
        seen.add(order_id)
    to_change = [order for _id, order in listed if isinstance(order, Order)]
    outcomes: list[tuple[int, str | None]] = []
    with batch.opened() as opened:
        gone = _hold_batch(to_change)
        if to_change:
            order_batch_loaded.send(to_change, new_state=new_state)
        change = partial(_change_in_memory, new_state=new_state, employee=employee, reason=reason, note=note)
        try:
            with db.session.begin_nested():
                outcomes = [_outcome(order_id, order, gone, change) for order_id, order in listed]
                _number_new_rows()
                db.session.flush()
                _insert_held_rows()
        except (SQLAlchemyError, _NoUndoInMemory):
            # A row the database refused, or a failed order whose rows a query already flushed: change
            # the batch again order by order, each in a savepoint (its receivers are called again).
            log.warning("a bulk status change batch could not be written at once; changing its orders one by one")
            opened.clear()  # the caches, the mails, and the hold: each order is held again by change_state
            change = partial(_change_in_savepoint, new_state=new_state, employee=employee, reason=reason, note=note)
            with batch.paused():
                outcomes = [_outcome(order_id, order, gone, change) for order_id, order in listed]
        for name, reference in opened.pop(_MAILS, []):
            log.info("status e-mail '%s' for order %s", name, reference)
    for order_id, failure in outcomes:
        if failure is None:
            result.changed.append(order_id)
        else:
            result.skipped.append({"id": order_id, "reason": failure})


def _outcome(order_id: int, order: Order | str, gone: set[int], change) -> tuple[int, str | None]:
    """Return (order id, None when it changed, else why it was skipped)."""
    if isinstance(order, str):
        return order_id, order
    if order_id in gone:
        return order_id, "no such order"
    return order_id, change(order)


def _change_in_memory(order: Order, new_state: OrderState, employee, reason, note) -> str | None:
    """Change one order of a batch, its rows left to the batch's flush; undo it in memory if it raises."""
    with batch.step() as added:
        try:
            change_state(order, new_state, employee, reason=reason, note=note)
            return None
        except SQLAlchemyError:  # a query's autoflush failed: the batch's savepoint is lost
            raise
        except Exception as error:  # one broken order must not stop the batch
            if batch.flushed_in_step():
                raise _NoUndoInMemory from error
            if inspect(order).attrs.invoice_number.history.added:  # give its number to the next order
                batch.shared()[_INVOICE] -= 1
            for instance in added:
                batch.drop(instance)
            db.session.expire(order)
            batch.forget(order.id)
            if isinstance(error, StateAlreadyAssigned):  # another admin moved it there meanwhile
                return f"already in state {new_state.name}"
            log.exception("bulk status change failed for order %s", order.id)
            return f"error: {error.__class__.__name__}"


class _NoUndoInMemory(Exception):
    """An order of a batch failed after part of its change was flushed: the batch must be redone."""


def _change_in_savepoint(order: Order, new_state: OrderState, employee, reason, note) -> str | None:
    """Change one order in a savepoint of its own, as outside a bulk change."""
    try:
        with db.session.begin_nested():
            change_state(order, new_state, employee, reason=reason, note=note)
        return None
    except StateAlreadyAssigned:  # another admin moved it there meanwhile
        return f"already in state {new_state.name}"
    except Exception as error:  # one broken order must not stop the batch
        log.exception("bulk status change failed for order %s", order.id)
        return f"error: {error.__class__.__name__}"


def _number_new_rows() -> None:
    """Give the batch's new rows their ids on SQLite, so its flush inserts each kind with one executemany.

    SQLite cannot say which id each row of a multi-row INSERT … RETURNING got, so without ids the ORM
    inserts one row per statement. The batch holds SQLite's write lock (``_hold_batch``), so nobody
    else inserts until the commit: max(id) + 1 onwards is what SQLite itself would give.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        return
    by_mapper: dict = {}
    for instance in db.session.new:
        state = inspect(instance)
        by_mapper.setdefault(state.mapper, []).append(state)
    for mapper, states in by_mapper.items():
        key = mapper.primary_key
        if len(key) != 1 or key[0].autoincrement not in (True, "auto") or key[0].type.python_type is not int:
            continue
        attribute = mapper.get_property_by_column(key[0]).key
        unnumbered = sorted((s for s in states if getattr(s.obj(), attribute) is None), key=lambda s: s.insert_order)
        if not unnumbered:
            continue
        with db.session.no_autoflush:
            last = db.session.scalar(select(func.max(key[0]))) or 0
        for number, state in enumerate(unnumbered, start=last + 1):
            setattr(state.obj(), attribute, number)


def _insert_held_rows() -> None:
    """Insert the rows receivers held in the batch (``shop.batch.add``), after the batch's flush.

    On SQLite each table's rows get their ids as ``_number_new_rows`` gives them and go in with one
    ``executemany``, with what the unit of work would have sent: the values set (None left to the
    column's default, as the ORM does) and each many-to-one relationship's key. Elsewhere (ids from a
    sequence) they go through the session's flush like any row.
    """
    # A held row the session took meanwhile (linked to a row a receiver added itself) was just flushed.
    rows = [row for row in batch.take_rows() if row not in db.session]
    if not rows:
        return
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.add_all(rows)
        db.session.flush()
        return
    by_class: dict = {}
    for row in rows:
        by_class.setdefault(type(row), []).append(row)
    table_order = {table: n for n, table in enumerate(db.metadata.sorted_tables)}  # referenced tables first
    for mapper in sorted((inspect(cls) for cls in by_class), key=lambda m: table_order[m.local_table]):
        held = by_class[mapper.class_]
        # The rows are transient and stay so: their values are read from (and their ids written to) their
        # __dict__, which is what the ORM's instrumentation keeps, without its events.
        [key] = mapper.primary_key
        attribute = mapper.get_property_by_column(key).key
        unnumbered = [vars(row) for row in held if vars(row).get(attribute) is None]
        if unnumbered:
            with db.session.no_autoflush:
                last = db.session.scalar(select(func.max(key))) or 0
            for number, values in enumerate(unnumbered, start=last + 1):
                values[attribute] = number
        columns = [(prop.key, prop.columns[0].key) for prop in mapper.column_attrs]
        references = [
            (relation.key, [(local.key, relation.mapper.get_property_by_column(remote).key) for local, remote in pairs])
            for relation in mapper.relationships
            if relation.direction is MANYTOONE and (pairs := relation.local_remote_pairs)
        ]
        groups: dict[tuple, list[dict]] = {}  # one executemany per set of columns given
        for row in held:
            values = vars(row)
            params = {column: values[name] for name, column in columns if values.get(name) is not None}
            for name, pairs in references:
                related = values.get(name)
                if related is not None:
                    params.update((local, getattr(related, remote)) for local, remote in pairs)
            groups.setdefault(tuple(params), []).append(params)
        for params in groups.values():
            db.session.execute(mapper.local_table.insert(), params)


def _load_batch(order_ids: set[int]) -> dict[int, Order]:
    """Load the orders with everything a change and the modules' receivers read: one query per kind."""
    if not order_ids:
        return {}
    statement = (
        select(Order)
        .where(Order.id.in_(order_ids))
        .options(
            joinedload(Order.current_state),
            joinedload(Order.customer),
            selectinload(Order.payments),
            selectinload(Order.history).joinedload(OrderHistory.state),
            selectinload(Order.lines),
            selectinload(Order.credit_slips).selectinload(CreditSlip.lines).joinedload(CreditSlipLine.order_line),
        )
    )
    return {o.id: o for o in db.session.scalars(statement).unique()}


def _hold_batch(orders: list[Order]) -> set[int]:
    """Hold the batch's orders as ``_hold`` holds one, with one statement or two; return the ids now gone.

    An order whose state changed since it was read (another admin's change committed meanwhile) is
    refreshed, so the "already assigned" check sees the latest committed state.
    """
    if not orders:
        return set()
    ids = sorted(order.id for order in orders)  # one lock order for every bulk change: no deadlock
    read = select(Order.id, Order.current_state_id).where(Order.id.in_(ids)).order_by(Order.id)
    if db.session.get_bind().dialect.name == "postgresql":
        current = dict(db.session.execute(read.with_for_update()).all())
    else:
        claim = (
            update(Order)
            .where(Order.id.in_(ids))
            .values(current_state_id=Order.current_state_id, updated_at=Order.updated_at)  # a no-op write
            .execution_options(synchronize_session=False)
        )
        db.session.execute(claim)  # SQLite's write lock, held until the commit: the states read next stay so
        current = dict(db.session.execute(read).all())
    held = batch.per_order(_HELD)
    gone: set[int] = set()
    for order in orders:
        if order.id not in current:
            gone.add(order.id)
            continue
        if current[order.id] != order.current_state_id:
            db.session.refresh(order)
        held[order.id] = True
    return gone
