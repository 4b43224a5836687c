"""What the delivery service tells operators: counters, worker heartbeats, and the outbox's state now.

Counters live in the database, not in a process: the web processes, the dispatch thread and every
`worker` process add to the same rows (in the transaction that records the attempt), so any web process
answers `/metrics` with the whole shop's figures, and a purge of old attempts never makes them go down.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, String, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from core.dbtypes import UTCDateTime, utcnow
from delivery.models import FAILED, PENDING, DestinationState, OutboxEvent
from extensions import db

log = logging.getLogger(__name__)

# Upper bounds of the delivery latency histogram, in seconds (Meta suggests a 1.5 s client timeout).
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 1.5, 3.0, 5.0, 10.0)
# A worker that wrote no heartbeat for this long is not counted as alive.
WORKER_SEEN_WITHIN = timedelta(minutes=1)
HEARTBEAT_EVERY = timedelta(seconds=15)
# Heartbeats of workers gone this long are deleted (every process start adds a name).
HEARTBEAT_KEPT = timedelta(days=1)


class DeliveryCounter(db.Model):
    """One monotonic counter of the delivery service: a name, a destination and a label (outcome, bucket)."""

    __tablename__ = "delivery_counter"

    destination: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(32), primary_key=True, default="")
    value: Mapped[float] = mapped_column(Float, default=0.0)


class WorkerHeartbeat(db.Model):
    """The last time a delivery worker (a process's dispatch thread or a `worker` command) was seen."""

    __tablename__ = "delivery_worker"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # thread | worker | inline
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def count_attempt(destination: str, outcome: str, duration_ms: int | None, events: dict[str, int]) -> None:
    """Add one attempt (its outcome and latency) and what it did to its events; the caller commits."""
    increments = {("attempts", outcome): 1.0}
    increments.update({("events", name): float(n) for name, n in events.items() if n})
    if duration_ms is not None:
        seconds = duration_ms / 1000
        increments[("duration_count", "")] = 1.0
        increments[("duration_sum", "")] = seconds
        for bound in DURATION_BUCKETS:
            if seconds <= bound:
                increments[("duration_bucket", str(bound))] = 1.0
    _add(destination, increments)


def _add(destination: str, increments: dict[tuple[str, str], float]) -> None:
    """Add to counters with one upsert per counter (SQLite and PostgreSQL both speak ON CONFLICT)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for (name, label), amount in sorted(increments.items()):
        statement = insert(DeliveryCounter).values(destination=destination, name=name, label=label, value=amount)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=["destination", "name", "label"],
                set_={"value": DeliveryCounter.value + statement.excluded.value},
            )
        )


class Heartbeat:
    """Write a worker's heartbeat at most every HEARTBEAT_EVERY (a failure is logged, never raised)."""

    def __init__(self, name: str, kind: str):
        self.name = name[:64]
        self.kind = kind
        self.started_at = utcnow()
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def beat(self, now: datetime | None = None) -> None:
        """Record that the worker is alive, in a transaction of its own."""
        now = now or utcnow()
        with self._lock:
            if self._last is not None and now - self._last < HEARTBEAT_EVERY:
                return
            self._last = now
        try:
            row = db.session.get(WorkerHeartbeat, self.name)
            if row is None:
                db.session.add(WorkerHeartbeat(name=self.name, kind=self.kind, started_at=self.started_at, seen_at=now))
            else:
                row.seen_at = now
            db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - HEARTBEAT_KEPT))
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("could not record the heartbeat of delivery worker %s", self.name)


@dataclass
class DestinationHealth:
    """The outbox of one destination now."""

    waiting: int = 0
    failed: int = 0
    oldest_waiting_at: datetime | None = None
    breaker_open: bool = False

    def as_json(self, now: datetime) -> dict:
        """The JSON shape /healthz answers."""
        oldest = self.oldest_waiting_at
        return {
            "waiting": self.waiting,
            "failed": self.failed,
            "oldest_waiting_at": oldest.isoformat() if oldest else None,
            "oldest_waiting_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
            "breaker": "open" if self.breaker_open else "closed",
        }


def outbox_health(destination_names) -> dict[str, DestinationHealth]:
    """Return waiting and failed counts, the oldest waiting event and the breaker, per destination."""
    health = {name: DestinationHealth() for name in destination_names}
    rows = db.session.execute(
        select(OutboxEvent.destination, OutboxEvent.status, func.count(), func.min(OutboxEvent.created_at))
        .where(OutboxEvent.status.in_([PENDING, FAILED]))
        .group_by(OutboxEvent.destination, OutboxEvent.status)
    )
    for destination, status, count, oldest in rows:
        entry = health.setdefault(destination, DestinationHealth())
        if status == PENDING:
            entry.waiting, entry.oldest_waiting_at = count, oldest
        else:
            entry.failed = count
    for state in db.session.scalars(select(DestinationState).where(DestinationState.opened_at.is_not(None))):
        health.setdefault(state.destination, DestinationHealth()).breaker_open = True
    return health


def workers_seen(now: datetime | None = None) -> list[WorkerHeartbeat]:
    """Return the workers that wrote a heartbeat within the last minute."""
    since = (now or utcnow()) - WORKER_SEEN_WITHIN
    return list(db.session.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.seen_at >= since)))


def counters() -> list[DeliveryCounter]:
    """Return every counter."""
    return list(db.session.scalars(select(DeliveryCounter)))
