"""The dispatcher: claim due outbox events in batches, send them through their destination's sender,
and record every HTTP exchange.

Claiming is a lease (`claimed_by`, `claimed_until`) written in a short transaction, so several workers
on several machines can share one database: on PostgreSQL the rows are picked with
``FOR UPDATE SKIP LOCKED``; on SQLite the write lock serializes the conditional UPDATE. No transaction
is open during an HTTP call. A worker that dies leaves its lease to expire, and the rows are sent again
with the same event_id (the destination deduplicates), so a crash loses nothing.

A transient failure is retried (``delivery.retry``) until the event's delivery window closes; a
destination that keeps failing is probed instead of hammered (``delivery.breaker``). The clock is
injectable, so tests can let hours of outage pass in a second.
"""

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask import Flask
from sqlalchemy import and_, delete, insert, or_, select, update

from core.dbtypes import utcnow
from delivery import hosts, monitoring, retry
from delivery.breaker import Breaker
from delivery.http import Answer, HttpClient
from delivery.models import FAILED, PENDING, SENT, DeliveryAttempt, OutboxEvent, attempt_event
from delivery.registry import BAD_EVENT, DELIVERED, PERMANENT, SPLIT, TRANSIENT, Destination, destinations
from extensions import db

log = logging.getLogger(__name__)

DEFAULTS = {
    "LEASE_SECONDS": 120.0,  # longer than any batch takes, splits included
    "CONNECT_TIMEOUT": 1.0,
    "READ_TIMEOUT": 3.0,
    "BREAKER_THRESHOLD": 3,  # consecutive transient failures that open a destination's breaker
    "PROBE_MAX_SECONDS": 30.0,  # an open destination is probed at least this often
}
# The last try is scheduled this long before the window closes, so it still counts.
WINDOW_GRACE = timedelta(seconds=1)


def config_value(app: Flask, key: str) -> float:
    """Return a numeric delivery setting: DELIVERY_<key>, else the older PIXELPLUS_<key>, else the default."""
    raw = app.config.get(f"DELIVERY_{key}", app.config.get(f"PIXELPLUS_{key}", DEFAULTS[key]))
    value = float(raw)
    return int(value) if isinstance(DEFAULTS[key], int) else value


def make_client(app: Flask) -> HttpClient:
    """Return an HTTP client with the app's timeouts and allowed hosts."""
    return HttpClient(
        connect_timeout=config_value(app, "CONNECT_TIMEOUT"),
        read_timeout=config_value(app, "READ_TIMEOUT"),
        allowed_hosts=hosts.parse_allowed(app.config.get("DELIVERY_ALLOWED_HOSTS")),
    )


@dataclass
class Summary:
    """What a dispatch pass did to events: sent, left for a retry, failed for good."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    requests: int = 0
    pulled_forward: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}"

    def add(self, other: "Summary") -> None:
        """Add another pass's counts to this one."""
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.requests += other.requests
        self.pulled_forward += other.pulled_forward


@dataclass
class Item:
    """One claimed event, as plain data (nothing ORM is touched during the HTTP call)."""

    id: int
    event_id: str
    payload: dict
    deliver_until: datetime


@dataclass
class Batch:
    """Claimed events bound for one request: same destination, target and test event code."""

    destination: str
    target: str
    test_event_code: str | None
    claim: str
    items: list[Item] = field(default_factory=list)
    probe: bool = False  # the single request an open breaker lets through


def worker_name() -> str:
    """Return who is sending: host, process and thread."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{threading.get_ident() % 100000}"


class Dispatcher:
    """Deliver due outbox events; one per worker thread, used inside an app context."""

    def __init__(
        self,
        app: Flask,
        worker: str | None = None,
        senders: Mapping | None = None,
        clock: Callable[[], datetime] | None = None,
        only: str | None = None,
        kind: str = "worker",
    ):
        self.app = app
        self.worker = (worker or worker_name())[:48]
        self.heartbeat = monitoring.Heartbeat(self.worker, kind)
        self.now = clock or utcnow
        self.client = make_client(app)
        self.destinations: dict[str, Destination] = destinations(app)
        if only is not None:
            if only not in self.destinations:
                raise ValueError(f"unknown destination {only!r}: one of {', '.join(self.destinations) or 'none'}")
            self.destinations = {only: self.destinations[only]}
        if senders is not None:
            self.senders = dict(senders)
        else:
            self.senders = {name: d.sender(self.client) for name, d in self.destinations.items()}
        default_schedule = retry.parse_schedule(app.config.get("DELIVERY_RETRY_SCHEDULE"))
        self.schedules = {
            name: default_schedule or tuple(d.retry_schedule or retry.DEFAULT_SCHEDULE)
            for name, d in self.destinations.items()
        }
        self.lease = timedelta(seconds=config_value(app, "LEASE_SECONDS"))
        self.breaker = Breaker(
            config_value(app, "BREAKER_THRESHOLD"),
            default_schedule or retry.DEFAULT_SCHEDULE,
            config_value(app, "PROBE_MAX_SECONDS"),
        )

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def run_once(self, stop: threading.Event | None = None) -> Summary:
        """Deliver every event due now, batch after batch; retries scheduled meanwhile wait their turn."""
        summary = Summary()
        self.heartbeat.beat()
        cutoff = self.now()
        while not (stop and stop.is_set()):
            batch = self.claim(cutoff)
            if batch is None:
                break
            done = self.deliver(batch)
            summary.add(done)
            if done.pulled_forward:
                cutoff = self.now()  # a breaker closed: its backlog is due in this pass too
        return summary

    def seconds_until_due(self) -> float | None:
        """Return how long until the next event may go out (0 if now), or None if none is pending."""
        now = self.now()
        opened = self.breaker.open_destinations()
        closed = [name for name in self.senders if name not in opened]
        moments = []
        row = db.session.execute(
            select(OutboxEvent.next_attempt_at, OutboxEvent.claimed_until)
            .where(OutboxEvent.status == PENDING, OutboxEvent.destination.in_(closed))
            .order_by(OutboxEvent.next_attempt_at)
            .limit(1)
        ).first()
        if row is not None:
            moments.append(max(row.next_attempt_at, row.claimed_until or row.next_attempt_at))
        for name, state in opened.items():
            if name in self.senders and self._has_pending(name):
                moments.append(max(state.next_probe_at or now, state.probe_until or now))
        db.session.commit()
        if not moments:
            return None
        return max(0.0, (min(moments) - now).total_seconds())

    @staticmethod
    def _has_pending(destination: str) -> bool:
        query = select(OutboxEvent.id).where(OutboxEvent.destination == destination, OutboxEvent.status == PENDING)
        return db.session.scalar(select(query.limit(1).exists())) or False

    # -- claiming ------------------------------------------------------------------------------

    @staticmethod
    def _free(now: datetime):
        return or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until < now)

    def claim(self, cutoff: datetime | None = None) -> Batch | None:
        """Lease the next batch of due events (or an open destination's probe), or None when nothing is due."""
        now = self.now()
        try:
            opened = self.breaker.open_destinations()
            for name, state in opened.items():
                if name in self.senders and self.breaker.probe_ready(state, now):
                    batch = self._claim_probe(name, now)
                    if batch is not None:
                        return batch
            closed = [name for name in self.senders if name not in opened]
            batch = self._claim_due(closed, cutoff or now, now) if closed else None
            db.session.commit()
            return batch
        except Exception:
            db.session.rollback()
            raise

    def _claim_due(self, names: list[str], cutoff: datetime, now: datetime) -> Batch | None:
        due = and_(
            OutboxEvent.status == PENDING,
            OutboxEvent.next_attempt_at <= cutoff,
            OutboxEvent.destination.in_(names),
            self._free(now),
        )
        while True:
            # FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite ignores it and serializes writers instead.
            first = db.session.execute(
                select(OutboxEvent.destination, OutboxEvent.target, OutboxEvent.test_event_code)
                .where(due)
                .order_by(OutboxEvent.next_attempt_at, OutboxEvent.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if first is None:
                return None
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
                .limit(self._batch_size(first.destination))
                .with_for_update(skip_locked=True)
            ).all()
            if not ids:
                return None  # another worker took them between the two reads
            batch = Batch(first.destination, first.target, first.test_event_code, self._new_claim())
            # `due` again: on SQLite the pick above was a plain read, and only this write is serialized.
            self._lease(ids, due, batch, now)
            if batch.items:
                return batch
            # Every claimed event's window had closed: they failed; look for the next batch.

    def _claim_probe(self, name: str, now: datetime) -> Batch | None:
        """Lease one event of an open destination as its probe, whatever its own next try says."""
        claim = self._new_claim()
        if not self.breaker.take_probe(name, claim, now, self.lease):
            return None
        free = and_(OutboxEvent.status == PENDING, OutboxEvent.destination == name, self._free(now))
        while True:
            first = db.session.execute(
                select(OutboxEvent.id, OutboxEvent.target, OutboxEvent.test_event_code)
                .where(free)
                .order_by(OutboxEvent.next_attempt_at, OutboxEvent.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if first is None:
                self.breaker.release_probe(name, claim)
                db.session.commit()
                return None
            batch = Batch(name, first.target, first.test_event_code, claim, probe=True)
            self._lease([first.id], free, batch, now)
            if batch.items:
                db.session.commit()
                return batch

    def _batch_size(self, name: str) -> int:
        destination = destinations(self.app).get(name)  # read now: a test may change it on a running dispatcher
        return max(1, destination.batch_size) if destination else 1

    def _new_claim(self) -> str:
        return f"{self.worker}#{uuid.uuid4().hex[:12]}"

    def _lease(self, ids: list[int], condition, batch: Batch, now: datetime) -> None:
        """Lease ids to batch, fail those whose window closed, and load the rest as the batch's items."""
        if not ids:
            return
        db.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids), condition)
            .values(claimed_by=batch.claim, claimed_until=now + self.lease)
            .execution_options(synchronize_session=False)
        )
        rows = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.claimed_by == batch.claim).order_by(OutboxEvent.id)
        ).all()
        destination = self.destinations.get(batch.destination)
        for row in rows:
            until = destination.window(row) if destination else now + self.lease
            if now >= until:
                row.status = FAILED
                row.last_error = retry.window_closed_message(until, row.attempts, row.last_error)
                row.claimed_by = row.claimed_until = None
                continue
            batch.items.append(Item(row.id, row.event_id, _parsed(row.payload_json), until))
        db.session.flush()

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
            answer = Answer.unsent(f"{type(error).__name__} while sending", retryable=True)
        summary.requests += 1
        verdict = PERMANENT if answer.refused else sender.classify(answer)
        if verdict == BAD_EVENT and len(items) > 1:
            self._record(sender, batch, items, answer, SPLIT, summary)
            for part in _split(items, sender.bad_event_index(answer, len(items))):
                self._send(sender, batch, part, summary)
            return
        self._record(sender, batch, items, answer, verdict, summary)

    def _record(self, sender, batch: Batch, items: list[Item], answer: Answer, verdict: str, summary: Summary):
        """Write the attempt row, what it means for each event and for the breaker, in one short transaction."""
        now = self.now()
        reason = None if verdict == DELIVERED else sender.describe(answer)
        try:
            attempt = DeliveryAttempt(
                destination=batch.destination,
                at=now,
                worker=self.worker,
                request_url=answer.request_url,
                request_body=answer.request_body,
                request_headers=_headers_json(answer.request_headers),
                http_status=answer.http_status,
                response_body=answer.stored_text,
                response_headers=_headers_json(answer.response_headers),
                fbtrace_id=(answer.trace_id or None) and answer.trace_id[:64],
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
            windows = {item.id: item.deliver_until for item in items}
            before = (summary.sent, summary.retrying, summary.failed)
            refused = _row_failures(sender, answer, items) if verdict == DELIVERED else {}
            for row in rows:
                row.attempts += 1
                if row.id in refused:  # the request went through but the destination refused this row
                    self._apply(row, batch, answer, PERMANENT, refused[row.id], now, windows[row.id], summary)
                    _log_event(batch.destination, row, PERMANENT)
                else:
                    self._apply(row, batch, answer, verdict, reason, now, windows[row.id], summary)
                    _log_event(batch.destination, row, verdict)
            monitoring.count_attempt(
                batch.destination,
                verdict,
                answer.duration_ms if answer.http_status is not None else None,  # a timeout has no answer time
                {
                    "sent": summary.sent - before[0],
                    "retried": summary.retrying - before[1],
                    "failed": summary.failed - before[2],
                },
            )
            if verdict != SPLIT:
                summary.pulled_forward += self.breaker.record(batch.destination, verdict, batch.claim, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise

    def _apply(self, row, batch, answer, verdict, reason, now, until, summary) -> None:
        """Move one event on after an answer."""
        if verdict == DELIVERED:
            # A success counts even if our lease expired meanwhile: the event did reach the destination.
            if row.status != SENT:
                row.status = SENT
                row.sent_at = now
                summary.sent += 1
            row.response_json = answer.stored_text
            row.last_error = None
            row.claimed_by = row.claimed_until = None
            return
        if row.claimed_by != batch.claim or row.status != PENDING:
            return  # the lease expired and another worker owns the row now (or it was sent): its answer decides
        if verdict == SPLIT:
            row.claimed_until = now + self.lease
            return
        row.response_json = answer.stored_text
        row.claimed_by = row.claimed_until = None
        if verdict == TRANSIENT:
            wait = retry.retry_wait(
                row.attempts, self.schedules.get(batch.destination, retry.DEFAULT_SCHEDULE), answer.retry_after
            )
            last_try = until - WINDOW_GRACE
            if now < last_try:
                row.next_attempt_at = min(now + timedelta(seconds=wait), last_try)
                row.last_error = retry.retrying_message(reason, row.attempts, row.next_attempt_at)
                summary.retrying += 1
                return
            row.status = FAILED
            row.last_error = retry.window_closed_message(until, row.attempts, reason)
            summary.failed += 1
            return
        row.status = FAILED
        row.last_error = reason
        summary.failed += 1


def _log_event(destination: str, row: OutboxEvent, verdict: str) -> None:
    """Log one line per event and attempt, with the order reference and the event id to grep for."""
    if row.status == SENT:
        outcome = "sent"
    elif row.status == FAILED:
        outcome = "failed"
    else:
        outcome = "split" if verdict == SPLIT else "retrying"
    detail = "" if row.status == SENT or verdict == SPLIT else f": {(row.last_error or '')[:300]}"
    log.info(
        "%s %s order=%s event_id=%s attempt=%d%s",
        destination,
        outcome,
        row.order_reference or "-",
        row.event_id,
        row.attempts,
        detail,
    )


def _row_failures(sender, answer: Answer, items: list[Item]) -> dict[int, str]:
    """Return {outbox id: reason} for the rows a delivered request's answer refused one by one.

    Only senders of destinations that accept part of a request (Google Ads' partialFailure) have
    ``row_failures``; their answer names the failed rows by position in the request.
    """
    row_failures = getattr(sender, "row_failures", None)
    if row_failures is None:
        return {}
    return {items[index].id: reason for index, reason in row_failures(answer, len(items)).items()}


def _headers_json(headers: dict[str, str] | None) -> str | None:
    """Return headers (already masked by the HTTP client) as an attempt row stores them."""
    return json.dumps(headers, ensure_ascii=False) if headers else None


def _parsed(payload_json: str) -> dict:
    return json.loads(payload_json, parse_float=Decimal)


def _split(items: list[Item], blamed: int | None) -> list[list[Item]]:
    """Return the parts to resend: the blamed event alone and the rest, or two halves."""
    if blamed is not None:
        return [[items[blamed]], items[:blamed] + items[blamed + 1 :]]
    middle = len(items) // 2
    return [items[:middle], items[middle:]]


class NotFailed(Exception):
    """Only a failed event can be sent again; the message says what the event is instead."""


def requeue(event: OutboxEvent, now: datetime | None = None) -> None:
    """Queue a failed event again, with the same event_id and payload; the caller commits.

    One conditional UPDATE (``status = 'failed'`` in its WHERE) does it, so of several concurrent
    clicks exactly one wins and the others raise NotFailed ("already queued"), and a row that was sent
    meanwhile can never go back to pending.
    """
    # attempts=0: a fresh round of tries; the attempt rows keep the whole history.
    again = {"status": PENDING, "attempts": 0, "next_attempt_at": now or utcnow()}
    if not _moved(event, [OutboxEvent.status == FAILED], {**again, "claimed_by": None, "claimed_until": None}):
        status = _status(event)
        if status == PENDING:
            raise NotFailed(f"event {event.id} is already queued (pending): it is sent once, not twice")
        raise NotFailed(f"event {event.id} is {status}: only a failed event can be resent")


class NotWaiting(Exception):
    """Only a pending event waiting for its next try can be tried now; the message says why not."""


def retry_now(event: OutboxEvent, now: datetime | None = None) -> None:
    """Make a pending event due at once instead of at its next try; the caller commits.

    One conditional UPDATE: the row must still be pending and not in flight (no live lease), so a click
    racing the dispatcher neither sends it twice nor revives a row that was sent or failed meanwhile.
    The attempts and the delivery window are unchanged: this only moves the next try forward.
    """
    now = now or utcnow()
    not_in_flight = or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until < now)
    if not _moved(event, [OutboxEvent.status == PENDING, not_in_flight], {"next_attempt_at": now}):
        status = _status(event)
        if status == PENDING:
            raise NotWaiting(f"event {event.id} is being sent right now")
        raise NotWaiting(f"event {event.id} is {status}: only a pending event waits for a next try")


def _moved(event: OutboxEvent, conditions: list, values: dict) -> bool:
    """Update the event's row only while conditions hold (one UPDATE, so races have one winner); wake the worker."""
    result = db.session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event.id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(event)
    if result.rowcount != 1:
        return False
    from delivery.worker import request_wake

    request_wake()
    return True


def _status(event: OutboxEvent) -> str | None:
    """Return the event's status as the database has it now."""
    return db.session.scalar(select(OutboxEvent.status).where(OutboxEvent.id == event.id))


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
