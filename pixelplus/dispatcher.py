"""The dispatcher: claim due outbox events in batches, send them through their destination's sender,
and record every HTTP exchange.

Claiming is a lease (`claimed_by`, `claimed_until`) written in a short transaction, so several workers
on several machines can share one database: on PostgreSQL the rows are picked with
``FOR UPDATE SKIP LOCKED``; on SQLite the write lock serializes the conditional UPDATE. No transaction
is open during an HTTP call. A worker that dies leaves its lease to expire, and the rows are sent again
with the same event_id (the destination deduplicates), so a crash loses nothing.
"""

import json
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask import Flask
from sqlalchemy import and_, delete, insert, or_, select, update

from core.dbtypes import utcnow
from extensions import db
from pixelplus.graph import GraphAnswer, GraphClient
from pixelplus.meta import BAD_EVENT, TRANSIENT, MetaCapiSender
from pixelplus.meta import SENT as DELIVERED
from pixelplus.models import FAILED, META_CAPI, PENDING, SENT, DeliveryAttempt, OutboxEvent, attempt_event

log = logging.getLogger(__name__)

# An attempt whose batch was rejected because of another event in it; the batch is split and sent again.
SPLIT = "split"

DEFAULTS = {
    "PIXELPLUS_MAX_ATTEMPTS": 8,
    "PIXELPLUS_BACKOFF_BASE": 10.0,  # seconds; doubles with every attempt
    "PIXELPLUS_BACKOFF_CAP": 3600.0,
    "PIXELPLUS_LEASE_SECONDS": 120.0,  # longer than any batch takes, splits included
    "PIXELPLUS_CONNECT_TIMEOUT": 1.0,
    "PIXELPLUS_READ_TIMEOUT": 3.0,
}


def config_value(app: Flask, key: str) -> float:
    """Return a numeric dispatch setting from app.config (environment strings accepted)."""
    value = float(app.config.get(key, DEFAULTS[key]))
    return int(value) if isinstance(DEFAULTS[key], int) else value


def make_senders(client: GraphClient) -> dict:
    """Return the sender of every destination, by destination name."""
    return {META_CAPI: MetaCapiSender(client)}


@dataclass
class Summary:
    """What a dispatch pass did to events: sent, left for a retry, failed for good."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    requests: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}"

    def add(self, other: "Summary") -> None:
        """Add another pass's counts to this one."""
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.requests += other.requests


@dataclass
class Item:
    """One claimed event, as plain data (nothing ORM is touched during the HTTP call)."""

    id: int
    event_id: str
    payload: dict


@dataclass
class Batch:
    """Claimed events bound for one request: same destination, target and test event code."""

    destination: str
    target: str
    test_event_code: str | None
    claim: str
    items: list[Item] = field(default_factory=list)


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Return the wait before the next try: base × 2^(attempts-1), capped, with full jitter."""
    ceiling = min(cap, base * (2 ** max(0, attempts - 1)))
    return random.uniform(0, ceiling)


def worker_name() -> str:
    """Return who is sending: host, process and thread."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{threading.get_ident() % 100000}"


class Dispatcher:
    """Deliver due outbox events; one per worker thread, used inside an app context."""

    def __init__(self, app: Flask, worker: str | None = None, senders: Mapping | None = None):
        self.app = app
        self.worker = (worker or worker_name())[:48]
        self.client = GraphClient(
            connect_timeout=config_value(app, "PIXELPLUS_CONNECT_TIMEOUT"),
            read_timeout=config_value(app, "PIXELPLUS_READ_TIMEOUT"),
        )
        self.senders = dict(senders) if senders is not None else make_senders(self.client)
        self.max_attempts = config_value(app, "PIXELPLUS_MAX_ATTEMPTS")
        self.backoff_base = config_value(app, "PIXELPLUS_BACKOFF_BASE")
        self.backoff_cap = config_value(app, "PIXELPLUS_BACKOFF_CAP")
        self.lease = timedelta(seconds=config_value(app, "PIXELPLUS_LEASE_SECONDS"))

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def run_once(self, stop: threading.Event | None = None) -> Summary:
        """Deliver every event due now, batch after batch; retries scheduled meanwhile wait their turn."""
        summary = Summary()
        cutoff = utcnow()
        while not (stop and stop.is_set()):
            batch = self.claim(cutoff)
            if batch is None:
                break
            summary.add(self.deliver(batch))
        return summary

    def seconds_until_due(self) -> float | None:
        """Return how long until the next pending event is due (0 if now), or None if none is pending."""
        now = utcnow()
        row = db.session.execute(
            select(OutboxEvent.next_attempt_at, OutboxEvent.claimed_until)
            .where(OutboxEvent.status == PENDING, OutboxEvent.destination.in_(list(self.senders)))
            .order_by(OutboxEvent.next_attempt_at)
            .limit(1)
        ).first()
        db.session.commit()
        if row is None:
            return None
        due = max(row.next_attempt_at, row.claimed_until or row.next_attempt_at)
        return max(0.0, (due - now).total_seconds())

    # -- claiming ------------------------------------------------------------------------------

    def _due(self, cutoff: datetime, now: datetime):
        return and_(
            OutboxEvent.status == PENDING,
            OutboxEvent.next_attempt_at <= cutoff,
            OutboxEvent.destination.in_(list(self.senders)),
            or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until < now),
        )

    def claim(self, cutoff: datetime | None = None) -> Batch | None:
        """Lease the next batch of due events to this worker, or return None when nothing is due."""
        now = utcnow()
        due = self._due(cutoff or now, now)
        try:
            # FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite ignores it and serializes writers instead.
            first = db.session.execute(
                select(OutboxEvent.destination, OutboxEvent.target, OutboxEvent.test_event_code)
                .where(due)
                .order_by(OutboxEvent.next_attempt_at, OutboxEvent.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if first is None:
                db.session.commit()
                return None
            sender = self.senders[first.destination]
            same_request = and_(
                OutboxEvent.destination == first.destination,
                OutboxEvent.target == first.target,
                OutboxEvent.test_event_code.is_(None)
                if first.test_event_code is None
                else OutboxEvent.test_event_code == first.test_event_code,
            )
            # Pick the ids first, then update them: an UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE
            # SKIP LOCKED) may rescan its subquery on PostgreSQL and claim more than n rows.
            ids = db.session.scalars(
                select(OutboxEvent.id)
                .where(due, same_request)
                .order_by(OutboxEvent.id)
                .limit(sender.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            claim = f"{self.worker}#{uuid.uuid4().hex[:12]}"
            if ids:
                # `due` again: on SQLite the pick above was a plain read, and only this write is serialized.
                db.session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_(ids), due)
                    .values(claimed_by=claim, claimed_until=now + self.lease)
                    .execution_options(synchronize_session=False)
                )
            rows = db.session.execute(
                select(OutboxEvent.id, OutboxEvent.event_id, OutboxEvent.payload_json)
                .where(OutboxEvent.claimed_by == claim)
                .order_by(OutboxEvent.id)
            ).all()
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        batch = Batch(first.destination, first.target, first.test_event_code, claim)
        batch.items = [Item(row.id, row.event_id, json.loads(row.payload_json, parse_float=Decimal)) for row in rows]
        return batch

    # -- sending -------------------------------------------------------------------------------

    def deliver(self, batch: Batch) -> Summary:
        """Send a claimed batch; split it when one bad event got the whole request rejected."""
        summary = Summary()
        if batch.items:
            self._send(self.senders[batch.destination], batch, batch.items, summary)
        return summary

    def _send(self, sender, batch: Batch, items: list[Item], summary: Summary) -> None:
        try:
            answer = sender.send(batch.target, [item.payload for item in items], batch.test_event_code)
        except Exception as error:  # a bug or a broken setting must not leave the rows leased forever
            db.session.rollback()
            log.exception("sending %d event(s) to %s failed", len(items), batch.destination)
            answer = GraphAnswer.unsent(f"{type(error).__name__} while sending", retryable=True)
        summary.requests += 1
        verdict = sender.classify(answer)
        if verdict == BAD_EVENT and len(items) > 1:
            self._record(sender, batch, items, answer, SPLIT, summary)
            for part in _split(items, sender.bad_event_index(answer, len(items))):
                self._send(sender, batch, part, summary)
            return
        self._record(sender, batch, items, answer, verdict, summary)

    def _record(self, sender, batch: Batch, items: list[Item], answer: GraphAnswer, verdict: str, summary: Summary):
        """Write the attempt row and what it means for each event, in one short transaction."""
        now = utcnow()
        reason = None if verdict == DELIVERED else sender.describe(answer)
        try:
            attempt = DeliveryAttempt(
                destination=batch.destination,
                at=now,
                worker=self.worker,
                request_url=answer.request_url,
                request_body=answer.request_body,
                http_status=answer.http_status,
                response_body=answer.response_text,
                fbtrace_id=(answer.fbtrace_id or None) and answer.fbtrace_id[:64],
                duration_ms=answer.duration_ms,
                outcome=verdict,
                error=reason if verdict != SPLIT else f"batch rejected, splitting it: {reason}",
            )
            db.session.add(attempt)
            db.session.flush()
            ids = [item.id for item in items]
            db.session.execute(insert(attempt_event), [{"attempt_id": attempt.id, "outbox_event_id": i} for i in ids])
            rows = db.session.scalars(
                select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id).with_for_update()
            ).all()
            for row in rows:
                row.attempts += 1
                self._apply(row, batch, answer, verdict, reason, now, summary)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise

    def _apply(self, row, batch, answer, verdict, reason, now, summary) -> None:
        """Move one event on after an answer."""
        if verdict == DELIVERED:
            # A success counts even if our lease expired meanwhile: the event did reach the destination.
            if row.status != SENT:
                row.status = SENT
                row.sent_at = now
                summary.sent += 1
            row.response_json = answer.response_text
            row.last_error = None
            row.claimed_by = row.claimed_until = None
            return
        if row.claimed_by != batch.claim or row.status != PENDING:
            return  # the lease expired and another worker owns the row now: its answer decides
        if verdict == SPLIT:
            row.claimed_until = now + self.lease
            return
        row.response_json = answer.response_text if answer.body is not None else None
        row.claimed_by = row.claimed_until = None
        if verdict == TRANSIENT and row.attempts < self.max_attempts:
            row.next_attempt_at = now + timedelta(
                seconds=backoff_seconds(row.attempts, self.backoff_base, self.backoff_cap)
            )
            row.last_error = f"attempt {row.attempts} of {self.max_attempts}: {reason}"
            summary.retrying += 1
            return
        row.status = FAILED
        if verdict == TRANSIENT:
            row.last_error = f"gave up after {row.attempts} attempts: {reason}"
        else:
            row.last_error = reason
        summary.failed += 1


def _split(items: list[Item], blamed: int | None) -> list[list[Item]]:
    """Return the parts to resend: the blamed event alone and the rest, or two halves."""
    if blamed is not None:
        return [[items[blamed]], items[:blamed] + items[blamed + 1 :]]
    middle = len(items) // 2
    return [items[:middle], items[middle:]]


class NotFailed(Exception):
    """Only a failed event can be sent again."""


def requeue(event: OutboxEvent) -> None:
    """Queue a failed event again, with the same event_id and payload; the caller commits."""
    if event.status != FAILED:
        raise NotFailed(f"event {event.id} is {event.status}: only a failed event can be resent")
    event.status = PENDING
    event.attempts = 0  # a fresh round of tries; the attempt rows keep the whole history
    event.next_attempt_at = utcnow()
    event.claimed_by = event.claimed_until = None
    from pixelplus.worker import request_wake

    request_wake()


PURGE_CHUNK = 1000
# What a purged event's payload becomes: its personal data is gone, the row itself stays (see purge_sent).
PURGED_PAYLOAD = "{}"


def purge_sent(days: int) -> tuple[int, int]:
    """Purge sent events older than days: their payload, answer and attempts; return both counts.

    The rows themselves stay, reduced to order, event_id, value and sent date: the module adds up what
    earlier Refund events reported (and counts them for the next event_id), so deleting them would let a
    later status change report the same money again. Pending and failed events are never touched.
    """
    cutoff = utcnow() - timedelta(days=days)
    events = attempts = 0
    last_id = 0
    while True:
        ids = db.session.scalars(
            select(OutboxEvent.id)
            .where(
                OutboxEvent.status == SENT,
                OutboxEvent.sent_at < cutoff,
                OutboxEvent.id > last_id,
                OutboxEvent.payload_json != PURGED_PAYLOAD,
            )
            .order_by(OutboxEvent.id)
            .limit(PURGE_CHUNK)
        ).all()
        if not ids:
            break
        attempt_ids = db.session.scalars(
            select(attempt_event.c.attempt_id).where(attempt_event.c.outbox_event_id.in_(ids)).distinct()
        ).all()
        db.session.execute(delete(attempt_event).where(attempt_event.c.outbox_event_id.in_(ids)))
        db.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))
            .values(payload_json=PURGED_PAYLOAD, response_json=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
        if attempt_ids:
            # An attempt that also carried a younger event stays until that one is purged too.
            still_used = select(attempt_event.c.attempt_id).where(attempt_event.c.attempt_id.in_(attempt_ids))
            orphans = and_(DeliveryAttempt.id.in_(attempt_ids), DeliveryAttempt.id.not_in(still_used))
            result = db.session.execute(delete(DeliveryAttempt).where(orphans))
            attempts += result.rowcount
        events += len(ids)
        last_id = ids[-1]
        db.session.commit()
    return events, attempts
