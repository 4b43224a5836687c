"""An order's outbox rows as modules read them: "already reported" sums, counts, earlier events.

Outside a bulk status change every read is one query. During one (``shop.batch``), the rows of the
batch's orders are read with one query when the batch is loaded and kept current as modules record
new rows (``note``), so a module's decision costs no query; a rolled-back order is dropped from the
cache (``shop.batch.forget``) and read again if asked.
"""

from decimal import Decimal

from sqlalchemy import select

from delivery.models import OutboxEvent
from extensions import db
from shop import batch

_CACHE = "delivery.outbox_rows"
ZERO = Decimal("0.00")


def on_order_batch_loaded(orders: list, **extra) -> None:
    """Read the outbox rows of a bulk batch's orders at once."""
    prime([order.id for order in orders])


def prime(order_ids: list[int]) -> None:
    """Read the outbox rows of the orders at once, for the open batch's cache."""
    cache = batch.per_order(_CACHE)
    if cache is None:
        return
    wanted = [order_id for order_id in order_ids if order_id not in cache]
    for order_id in wanted:
        cache[order_id] = []
    if wanted:
        statement = select(OutboxEvent).where(OutboxEvent.order_id.in_(wanted)).order_by(OutboxEvent.id)
        for row in db.session.scalars(statement):
            cache[row.order_id].append(row)


def rows_of(destination: str, order_id: int, target: str | None = None, event_name: str | None = None) -> list:
    """Return the destination's outbox rows of the order (of one target / event name if given), oldest first."""
    cache = batch.per_order(_CACHE)
    if cache is not None and order_id in cache:
        rows = [row for row in cache[order_id] if row.destination == destination]
    else:
        statement = (
            select(OutboxEvent)
            .where(OutboxEvent.destination == destination, OutboxEvent.order_id == order_id)
            .order_by(OutboxEvent.id)
        )
        rows = list(db.session.scalars(statement))
    return [
        row
        for row in rows
        if (target is None or row.target == target) and (event_name is None or row.event_name == event_name)
    ]


def reported(destination: str, order_id: int, target: str | None = None, event_name: str | None = None) -> Decimal:
    """Return the sum of the values of those rows, whatever their status (a failed one may be resent)."""
    rows = rows_of(destination, order_id, target, event_name)
    return sum((row.value for row in rows if row.value is not None), ZERO)


def note(row: OutboxEvent) -> None:
    """Keep the cache current with a row a module just recorded (its savepoint, if any, succeeded)."""
    cache = batch.per_order(_CACHE)
    if cache is not None and row.order_id in cache:
        cache[row.order_id].append(row)
