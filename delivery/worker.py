"""When the dispatcher runs: a background thread of the web process, inline after the commit, or only
in a separate ``flask delivery worker`` (alias ``flask pixelplus worker``; ``PIXELPLUS_DISPATCH`` =
thread / inline / worker). Every destination is delivered by the same thread, process or command.

A module's receiver sends ``outbox-event-recorded`` inside the status change's transaction; we only note it on
the session, and wake the dispatcher once that transaction has committed, so the back-office request
never waits for Meta and a rolled-back change sends nothing.
"""

import atexit
import logging
import threading

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from delivery.dispatcher import Dispatcher
from delivery.signals import outbox_event_recorded
from extensions import db

log = logging.getLogger(__name__)

THREAD, INLINE, WORKER = "thread", "inline", "worker"
MODES = (THREAD, INLINE, WORKER)
EXTENSION_KEY = "delivery.dispatch_thread"
WAKE_KEY = "delivery_wake"
DEFAULT_POLL_SECONDS = 5.0


def init_app(app: Flask) -> None:
    """Check the dispatch mode and wire the wake-up on commit."""
    mode = str(app.config.get("PIXELPLUS_DISPATCH", THREAD)).strip().lower()
    if mode not in MODES:
        raise ValueError(f"PIXELPLUS_DISPATCH must be one of {', '.join(MODES)}, not {mode!r}")
    app.config["PIXELPLUS_DISPATCH"] = mode
    outbox_event_recorded.connect(_note_recorded)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
    if mode == THREAD:

        @app.before_request
        def _start_dispatch_thread():
            # Picks up events left due by an earlier process as soon as the first page is served.
            dispatch_thread(app).ensure_started()


def request_wake() -> None:
    """Ask for a dispatch pass once the current transaction commits."""
    db.session.info[WAKE_KEY] = current_app._get_current_object()


def _note_recorded(sender, **extra) -> None:
    request_wake()


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released (another module's receiver): the real commit is still to come
    app = session.info.pop(WAKE_KEY, None)
    if app is not None:
        wake(app)


def _after_rollback(session: Session) -> None:
    session.info.pop(WAKE_KEY, None)


def wake(app: Flask) -> None:
    """Start delivering what was just committed, as the app's dispatch mode says."""
    mode = app.config["PIXELPLUS_DISPATCH"]
    if mode == THREAD:
        dispatch_thread(app).wake()
    elif mode == INLINE:
        run_inline(app)


def run_inline(app: Flask) -> None:
    """Run one dispatch pass now, in this thread, with its own app context and session."""
    # A fresh app context gets its own scoped session: the committing one may not emit SQL any more.
    with app.app_context():
        dispatcher = Dispatcher(app, kind="inline")
        try:
            dispatcher.run_once()
        except Exception:
            log.exception("inline dispatch failed; the events stay pending")
            db.session.rollback()
        finally:
            dispatcher.close()


def dispatch_thread(app: Flask) -> "DispatchThread":
    """Return the app's dispatch thread (created, not started, on first use)."""
    runner = app.extensions.get(EXTENSION_KEY)
    if runner is None:
        runner = app.extensions.setdefault(EXTENSION_KEY, DispatchThread(app))
    return runner


def stop_thread(app: Flask, timeout: float = 10.0) -> None:
    """Stop the app's dispatch thread if it runs, letting the batch in flight finish."""
    runner = app.extensions.get(EXTENSION_KEY)
    if runner is not None:
        runner.stop(timeout)


class DispatchThread:
    """One daemon thread per web process that delivers due events, woken on commit or by its timer."""

    def __init__(self, app: Flask):
        self.app = app
        self.poll_seconds = float(app.config.get("PIXELPLUS_POLL_SECONDS", DEFAULT_POLL_SECONDS))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

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
            self._thread = threading.Thread(target=self._run, name="delivery-dispatch", daemon=True)
            self._thread.start()
            atexit.register(self.stop)

    def wake(self) -> None:
        """Make the thread look for due events now."""
        self.ensure_started()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its batch and stop, and wait for it."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        with self.app.app_context():
            dispatcher = Dispatcher(self.app, kind="thread")
            try:
                while not self._stop.is_set():
                    self._wake.clear()
                    wait = self._pass(dispatcher)
                    self._wake.wait(self.poll_seconds if wait is None else min(max(wait, 0.05), self.poll_seconds))
            finally:
                dispatcher.close()
                db.session.remove()

    def _pass(self, dispatcher: Dispatcher) -> float | None:
        """Deliver what is due; return the seconds until the next event is due."""
        try:
            summary = dispatcher.run_once(self._stop)
            if summary.requests:
                log.info("dispatch: %s", summary)
            return dispatcher.seconds_until_due()
        except Exception:
            # The database may be briefly unreachable; the rows stay pending and the next pass retries.
            log.exception("dispatch pass failed")
            db.session.rollback()
            return self.poll_seconds
