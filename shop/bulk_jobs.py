"""Bulk status changes too large for one request, run as a background job of the web process.

Above ``BULK_BACKGROUND_THRESHOLD`` orders (2,000 by default) the back office's bulk action and the
API's bulk endpoint record a job (who, the target state, reason and note, the order ids) and answer at
once. A thread of the web process (``core.background.BackgroundThread``) claims a queued job with a
lease, changes its orders a slice at a time (``shop.status.change_states``), and commits each slice
together with the job's progress: a killed process loses at most the slice in flight, which rolled
back, and another process takes the job over once the lease expired and goes on from the last
committed slice. No order is changed twice: one already in the target state is skipped and reported.

``BULK_JOBS``: ``thread`` (default: the web process's thread), ``inline`` (right after the commit,
in the same thread; tests), ``manual`` (only ``flask shop bulk-jobs`` runs them).
"""

import json
import logging
import socket
import uuid
from collections import Counter
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import ForeignKey, String, Text, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.background import BackgroundThread, on_commit, request_after_commit
from core.dbtypes import UTCDateTime, utcnow
from extensions import db
from shop.models import Employee, OrderState

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
DEFAULT_THRESHOLD = 2_000
SLICE = 500  # orders per committed step: what a killed process may have to redo
LEASE = timedelta(seconds=60)  # renewed at every slice; a slice takes seconds
THREAD, INLINE, MANUAL = "thread", "inline", "manual"
EXTENSION_KEY = "shop.bulk_jobs"
WAKE_KEY = "bulk_jobs_wake"
POLL_SECONDS = 10.0


class BulkJob(db.Model):
    """A bulk status change run in the background: what was asked, how far it got, and its report."""

    __tablename__ = "bulk_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    state_id: Mapped[int] = mapped_column(ForeignKey("order_state.id"))
    reason: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    order_ids_json: Mapped[str] = mapped_column(Text)
    total: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)  # ids handled by committed slices
    changed_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_json: Mapped[str] = mapped_column(Text, default="{}")

    employee: Mapped[Employee | None] = relationship()
    state: Mapped[OrderState] = relationship()

    @property
    def order_ids(self) -> list[int]:
        """The orders to change, in list order."""
        return json.loads(self.order_ids_json)

    @property
    def report(self) -> dict:
        """``{skipped: [{id, reason}], failed: [{id, reason}], events: {destination: count}}``."""
        return json.loads(self.report_json or "{}")

    @property
    def percent(self) -> int:
        """How far the job got, 0 to 100."""
        return 100 if not self.total else min(100, self.position * 100 // self.total)

    @property
    def finished(self) -> bool:
        """Whether the job is over (done or failed)."""
        return self.status in (DONE, FAILED)

    def as_json(self) -> dict:
        """The job as the API shows it."""
        report = self.report
        return {
            "id": self.id,
            "status": self.status,
            "state_id": self.state_id,
            "total": self.total,
            "done": self.position,
            "changed": self.changed_count,
            "skipped_count": self.skipped_count,
            "failed_count": self.failed_count,
            "skipped": report.get("skipped", []),  # so far: [{id, reason}]
            "failed": report.get("failed", []),
            "events": report.get("events", {}),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def threshold(app: Flask | None = None) -> int:
    """Return the number of orders above which a bulk change runs in the background."""
    return int((app or current_app).config.get("BULK_BACKGROUND_THRESHOLD", DEFAULT_THRESHOLD))


def enqueue(order_ids: list[int], state: OrderState, employee: Employee | None, reason=None, note=None) -> BulkJob:
    """Record a job for the orders and have it run once the caller commits."""
    job = BulkJob(
        employee=employee,
        state=state,
        reason=reason,
        note=note,
        order_ids_json=json.dumps(list(order_ids)),
        total=len(order_ids),
        status=QUEUED,
        report_json=json.dumps({"skipped": [], "failed": [], "events": {}}),
    )
    db.session.add(job)
    db.session.flush()
    request_after_commit(WAKE_KEY)
    return job


def claim(owner: str, now: datetime | None = None) -> BulkJob | None:
    """Take the oldest queued job, or a running one whose lease expired (its process died); None if none."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(BulkJob.id)
        .where(or_(BulkJob.status == QUEUED, (BulkJob.status == RUNNING) & (BulkJob.lease_until < now)))
        .order_by(BulkJob.id)
        .limit(5)
    ).all()
    for job_id in candidates:
        taken = db.session.execute(
            update(BulkJob)
            .where(
                BulkJob.id == job_id,
                or_(BulkJob.status == QUEUED, (BulkJob.status == RUNNING) & (BulkJob.lease_until < now)),
            )
            .values(
                status=RUNNING,
                lease_owner=owner,
                lease_until=now + LEASE,
                started_at=func.coalesce(BulkJob.started_at, now),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if taken:
            return db.session.get(BulkJob, job_id)
    return None


def run_slice(job: BulkJob, owner: str, now: datetime | None = None) -> bool:
    """Change the job's next slice and commit it with the progress; return whether the job goes on.

    Returns False, having changed nothing, if the lease was lost to another process meanwhile.
    """
    from shop.status import change_states  # the service imports this module's neighbours

    now = now or utcnow()
    ids = job.order_ids
    chunk = ids[job.position : job.position + SLICE]
    # Renew the lease first, in this slice's transaction: if another process took the job over, stop.
    renewed = db.session.execute(
        update(BulkJob)
        .where(BulkJob.id == job.id, BulkJob.lease_owner == owner, BulkJob.position == job.position)
        .values(lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not renewed:
        db.session.rollback()
        return False
    since = utcnow()
    # A resumed job starts after its last committed slice; earlier ids count as seen for "listed twice".
    result = change_states(
        chunk, job.state, job.employee, reason=job.reason, note=job.note, already_listed=ids[: job.position]
    )
    report = job.report
    failed = [s for s in result.skipped if s["reason"].startswith("error")]
    report["failed"] += failed
    report["skipped"] += [s for s in result.skipped if not s["reason"].startswith("error")]
    events = Counter(report.get("events", {}))
    events.update(_events_queued(result.changed, since))
    report["events"] = dict(sorted(events.items()))
    job.position += len(chunk)
    job.changed_count += len(result.changed)
    job.failed_count += len(failed)
    job.skipped_count += len(result.skipped) - len(failed)
    job.report_json = json.dumps(report)
    if job.position >= job.total:
        job.status, job.finished_at, job.lease_owner, job.lease_until = DONE, utcnow(), None, None
    db.session.commit()
    return job.status == RUNNING


def _events_queued(order_ids: list[int], since: datetime) -> Counter:
    """Count the outbox rows the change of these orders queued, per destination."""
    from delivery.models import OutboxEvent  # a module table: the count is the report's, not the change's

    counts: Counter = Counter()
    for start in range(0, len(order_ids), SLICE):
        rows = db.session.execute(
            select(OutboxEvent.destination, func.count())
            .where(OutboxEvent.order_id.in_(order_ids[start : start + SLICE]), OutboxEvent.created_at >= since)
            .group_by(OutboxEvent.destination)
        ).all()
        counts.update(dict(rows))
    return counts


def run_pending(owner: str | None = None, stopping=None) -> int:
    """Run every job that can be claimed, slice by slice, until none is left; return the jobs finished."""
    owner = owner or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
    finished = 0
    while not (stopping and stopping.is_set()):
        job = claim(owner)
        if job is None:
            break
        try:
            while run_slice(job, owner):
                if stopping and stopping.is_set():
                    _release(job.id, owner)  # another pass (or process) goes on from here
                    return finished
        except OperationalError:  # the database is busy or away: the job waits for the next pass
            log.warning("bulk job %s paused: the database is busy or away", job.id, exc_info=True)
            db.session.rollback()
            _release(job.id, owner)
            return finished
        except Exception:
            log.exception("bulk job %s failed", job.id)
            db.session.rollback()
            _fail(job.id)
            continue
        finished += 1
    return finished


def _release(job_id: int, owner: str) -> None:
    """Give the job's lease back at once, so the next pass (of any process) goes on with it."""
    try:
        db.session.execute(
            update(BulkJob)
            .where(BulkJob.id == job_id, BulkJob.lease_owner == owner)
            .values(lease_until=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    except OperationalError:  # still away: the lease runs out by itself
        db.session.rollback()


def _fail(job_id: int) -> None:
    """Mark a job failed after an unexpected error (its committed slices stay done)."""
    job = db.session.get(BulkJob, job_id)
    if job is not None and not job.finished:
        job.status, job.finished_at, job.lease_owner, job.lease_until = FAILED, utcnow(), None, None
        db.session.commit()


def init_app(app: Flask) -> None:
    """Run jobs after the commit that queued them, and pick up leftovers when the first request comes."""
    on_commit(WAKE_KEY, _wake)
    if mode(app) == THREAD:

        @app.before_request
        def _start_bulk_job_thread():
            runner(app).ensure_started()


def mode(app: Flask) -> str:
    """Return how jobs run: thread, inline or manual."""
    return str(app.config.get("BULK_JOBS", THREAD)).strip().lower()


def _wake(app: Flask) -> None:
    if mode(app) == THREAD:
        runner(app).wake()
    elif mode(app) == INLINE:
        with app.app_context():
            try:
                run_pending()
            except Exception:
                log.exception("inline bulk job run failed; the job stays queued")
                db.session.rollback()


def runner(app: Flask) -> BackgroundThread:
    """Return the app's bulk job thread (created, not started, on first use)."""
    found = app.extensions.get(EXTENSION_KEY)
    if found is None:
        poll = float(app.config.get("BULK_JOBS_POLL_SECONDS", POLL_SECONDS))
        thread = BackgroundThread(app, "bulk-jobs", lambda: _run_in_thread(app), poll)
        found = app.extensions.setdefault(EXTENSION_KEY, thread)
    return found


def _run_in_thread(app: Flask) -> None:
    run_pending(stopping=app.extensions[EXTENSION_KEY].stopping)
