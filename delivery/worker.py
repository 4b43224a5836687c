"""When the dispatcher runs: a background thread of the web process, inline after the commit, or only
in a separate ``flask delivery worker`` (alias ``flask pixelplus worker``; ``PIXELPLUS_DISPATCH`` =
thread / inline / worker). Every destination is delivered by the same thread, process or command.

A module's receiver sends ``outbox-event-recorded`` inside the status change's transaction; we only note
it on the session, and wake the dispatcher once that transaction has committed (``core.background``), so
the back-office request never waits for a destination and a rolled-back change sends nothing.
"""

import logging

from flask import Flask

from core.background import BackgroundThread, on_commit, request_after_commit
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
    on_commit(WAKE_KEY, wake)
    if mode == THREAD:

        @app.before_request
        def _start_dispatch_thread():
            # Picks up events left due by an earlier process as soon as the first page is served.
            dispatch_thread(app).ensure_started()


def request_wake() -> None:
    """Ask for a dispatch pass once the current transaction commits."""
    request_after_commit(WAKE_KEY)


def _note_recorded(sender, **extra) -> None:
    request_wake()


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


class DeliveryPass:
    """The dispatch thread's work: deliver what is due, with one dispatcher (and its connections) kept."""

    def __init__(self, app: Flask):
        self.app = app
        self.dispatcher: Dispatcher | None = None
        self.thread: BackgroundThread | None = None

    def __call__(self) -> float | None:
        """Deliver what is due; return the seconds until the next event is due."""
        if self.dispatcher is None:
            self.dispatcher = Dispatcher(self.app, kind="thread")
        summary = self.dispatcher.run_once(self.thread.stopping if self.thread else None)
        if summary.requests:
            log.info("dispatch: %s", summary)
        return self.dispatcher.seconds_until_due()

    def close(self) -> None:
        """Release the dispatcher's connections."""
        if self.dispatcher is not None:
            self.dispatcher.close()


def dispatch_thread(app: Flask) -> BackgroundThread:
    """Return the app's dispatch thread (created, not started, on first use)."""
    runner = app.extensions.get(EXTENSION_KEY)
    if runner is None:
        work = DeliveryPass(app)
        poll = float(app.config.get("PIXELPLUS_POLL_SECONDS", DEFAULT_POLL_SECONDS))
        runner = app.extensions.setdefault(EXTENSION_KEY, BackgroundThread(app, "delivery-dispatch", work, poll))
        work.thread = runner
    return runner


def stop_thread(app: Flask, timeout: float = 10.0) -> None:
    """Stop the app's dispatch thread if it runs, letting the batch in flight finish."""
    runner = app.extensions.get(EXTENSION_KEY)
    if runner is not None:
        runner.stop(timeout)
        runner.work.close()
