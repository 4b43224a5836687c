"""Background work of the web process: a wake-up once the current transaction commits, and a daemon thread
that runs a pass of work when woken or on a timer.

Nothing here knows what the work is: a package gives a callable (deliver the due events, process the queued
postbacks) and decides when to ask for it.
"""

import atexit
import logging
import threading
import weakref
from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import db

log = logging.getLogger(__name__)

_ON_COMMIT: dict[str, Callable[[Flask], None]] = {}
_STARTED: "weakref.WeakSet[BackgroundThread]" = weakref.WeakSet()  # for tests: stop what a test started


def on_commit(key: str, action: Callable[[Flask], None]) -> None:
    """Register what ``request_after_commit(key)`` runs, with the app, once the transaction has committed."""
    _ON_COMMIT[key] = action
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def request_after_commit(key: str) -> None:
    """Ask for key's action once the current transaction commits (nothing if it rolls back)."""
    db.session.info[key] = current_app._get_current_object()


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released (SQLAlchemy calls after_commit for it too): the real commit is to come
    for key, action in _ON_COMMIT.items():
        app = session.info.pop(key, None)
        if app is not None:
            action(app)


def _after_rollback(session: Session) -> None:
    for key in _ON_COMMIT:
        session.info.pop(key, None)


def started_threads() -> list["BackgroundThread"]:
    """Every background thread started in this process and not yet collected (tests stop the ones they start)."""
    return list(_STARTED)


class BackgroundThread:
    """One daemon thread that runs ``work()`` in an app context when woken, or every poll_seconds at least.

    ``work`` may return the seconds until it has something to do again (it is then called sooner); an
    exception is logged and the next pass tries again, so a database that is briefly away loses nothing.
    """

    def __init__(self, app: Flask, name: str, work: Callable[[], float | None], poll_seconds: float):
        self.app = app
        self.name = name
        self.work = work
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> threading.Event:
        """Set once the thread was asked to stop: long work checks it between steps."""
        return self._stop

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def ensure_started(self) -> None:
        """Start the thread unless it runs already (or was stopped)."""
        if self.running or self._stop.is_set():
            return
        with self._lock:
            if self.running or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
            _STARTED.add(self)
            atexit.register(self.stop)

    def wake(self) -> None:
        """Make the thread run a pass now."""
        self.ensure_started()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its pass and stop, and wait for it."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        with self.app.app_context():
            try:
                while not self._stop.is_set():
                    self._wake.clear()
                    wait = self._pass()
                    # Never sleep inside a transaction: a pass that only read (no job, nothing due) would
                    # hold its snapshot and locks, and block a migration's or a test's DROP TABLE meanwhile.
                    db.session.remove()
                    self._wake.wait(self.poll_seconds if wait is None else min(max(wait, 0.05), self.poll_seconds))
            finally:
                db.session.remove()

    def _pass(self) -> float | None:
        try:
            return self.work()
        except Exception:
            log.exception("%s: background pass failed", self.name)
            db.session.rollback()
            return self.poll_seconds
