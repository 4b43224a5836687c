"""A bulk status change under way: what receivers may share across the orders of one batch.

``shop.status.change_states`` opens a batch for each slice of orders and sends ``order-batch-loaded``
with them before the first change, so modules read what they need for the whole batch at once.
Each order still changes on its own and sends its own signals, but nothing is flushed per order: the
batch's rows are written by one flush at its end. A receiver therefore records its rows without a
savepoint or flush of its own while ``running()`` says so, and only *adds* rows to the session.

The savepoint of each order is kept in memory: the objects that become pending while an order
changes are noted (``step``), and if the change raises they are expunged and the order expired, so
the order is left as it was and the others go through. If the batch's flush fails (a row the
database refuses), the batch's savepoint rolls back and its orders are changed again one by one,
each in a savepoint of its own with every receiver in its own as well (``paused``): their receivers
are then called a second time for those orders, in that rare case only.

Rows that only get inserted (decisions, outbox rows) may skip the session altogether: ``add`` holds
them in the batch, which inserts them at its end with one ``executemany`` per table (``take_rows``),
without the unit of work's bookkeeping for thousands of objects nobody reads again.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import db

_KEY = "shop.batch"
_PAUSED = "shop.batch.paused"
_PER_ORDER = "per order"
_STEP = "step"
_FLUSHED = "flushed in step"
_ROWS = "rows"


def running() -> bool:
    """Whether a bulk status change's batch is open (and not paused) in this session."""
    info = db.session.info  # one look-up: the scoped session's proxy costs more than the dict read
    return info.get(_KEY) is not None and not info.get(_PAUSED)


def shared() -> dict | None:
    """Return the open batch's dict (a place for receivers' caches), or None outside a batch."""
    return db.session.info.get(_KEY)


def cached(name: str, loader: Callable[[], Any]) -> Any:
    """Return loader()'s value, read once per batch while one is open, else read now."""
    batch = shared()
    if batch is None:
        return loader()
    if name not in batch:
        batch[name] = loader()
    return batch[name]


def per_order(name: str) -> dict | None:
    """Return the open batch's cache {order id: value} called name, or None outside a batch.

    ``forget`` drops an order from every such cache when its change fails and is rolled back.
    """
    batch = shared()
    if batch is None:
        return None
    return batch.setdefault(_PER_ORDER, {}).setdefault(name, {})


def forget(order_id: int) -> None:
    """Drop what the batch's caches hold for an order whose change was rolled back."""
    batch = shared()
    for cache in (batch or {}).get(_PER_ORDER, {}).values():
        cache.pop(order_id, None)


@contextmanager
def opened() -> Iterator[dict]:
    """Open a batch for the duration of the block; its caches are dropped when it closes."""
    batch: dict = {}
    db.session.info[_KEY] = batch
    try:
        yield batch
    finally:
        db.session.info.pop(_KEY, None)


@contextmanager
def paused() -> Iterator[None]:
    """Run one change as outside a batch (receivers take their own savepoints), keeping the caches."""
    db.session.info[_PAUSED] = True
    try:
        yield
    finally:
        db.session.info.pop(_PAUSED, None)


@contextmanager
def step() -> Iterator[list]:
    """Note the objects that become pending in the session during the block (one order's change)."""
    added: list = []
    batch = shared()
    if batch is not None:
        batch[_STEP] = added
        batch.pop(_FLUSHED, None)
    try:
        yield added
    finally:
        if batch is not None:
            batch.pop(_STEP, None)


def add(instance) -> None:
    """Add a new row to insert: held by the open batch (written at its end, ``take_rows``), else to the session.

    For rows nobody changes after adding them: the batch inserts them as they are when it ends.
    """
    info = db.session.info
    batch = None if info.get(_PAUSED) else info.get(_KEY)
    if batch is None:
        db.session.add(instance)
        return
    batch.setdefault(_ROWS, {})[instance] = None
    if _STEP in batch:
        batch[_STEP].append(instance)


def drop(instance) -> None:
    """Forget a row of a failed order's change, whether the batch or the session holds it."""
    if instance in db.session:
        db.session.expunge(instance)
    else:
        (shared() or {}).get(_ROWS, {}).pop(instance, None)


def take_rows() -> list:
    """Return the rows ``add`` held for the batch, in the order added, and forget them."""
    return list((shared() or {}).pop(_ROWS, {}))


def flushed_in_step() -> bool:
    """Whether the session flushed during the current step (a query's autoflush): no undo in memory then."""
    return bool((shared() or {}).get(_FLUSHED))


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, context) -> None:
    batch = session.info.get(_KEY)
    if batch is not None and _STEP in batch:
        batch[_FLUSHED] = True


@event.listens_for(Session, "transient_to_pending")
def _note_pending(session: Session, instance) -> None:
    batch = session.info.get(_KEY)
    if batch is not None and _STEP in batch:
        batch[_STEP].append(instance)
