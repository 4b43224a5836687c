"""When queued postbacks are processed: never inside the request that received them.

The shop's dispatch modes (``PIXELPLUS_DISPATCH``) apply: ``thread`` wakes a background thread of the web
process once the request's transaction has committed, ``inline`` processes right after that commit in
the same thread (tests), ``worker`` leaves them to ``flask postbacks worker`` / ``process``.
"""

import atexit
import logging
import threading

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import db
from postbacks.processing import process_pending

log = logging.getLogger(__name__)

THREAD, INLINE, WORKER = "thread", "inline", "worker"
EXTENSION_KEY = "postbacks.runner"
WAKE_KEY = "postbacks_wake"
DEFAULT_POLL_SECONDS = 5.0


def init_app(app: Flask) -> None:
    """Wire the wake-up on commit; in thread mode, pick up leftovers when the first request comes."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
    if mode(app) == THREAD:

        @app.before_request
        def _start_postback_thread():
            runner(app).ensure_started()


def mode(app: Flask) -> str:
    """Return the app's dispatch mode."""
    return str(app.config.get("PIXELPLUS_DISPATCH", THREAD)).strip().lower()


def request_processing() -> None:
    """Ask for a processing pass once the current transaction commits."""
    db.session.info[WAKE_KEY] = current_app._get_current_object()


def _after_commit(session: Session) -> None:
    app = session.info.pop(WAKE_KEY, None)
    if app is None:
        return
    if mode(app) == THREAD:
        runner(app).wake()
    elif mode(app) == INLINE:
        run_inline(app)


def _after_rollback(session: Session) -> None:
    session.info.pop(WAKE_KEY, None)


def run_inline(app: Flask) -> None:
    """Process what is queued now, in this thread, with its own app context and session."""
    with app.app_context():
        try:
            process_pending()
        except Exception:
            log.exception("inline postback processing failed; the postbacks stay queued")
            db.session.rollback()


def runner(app: Flask) -> "PostbackThread":
    """Return the app's postback thread (created, not started, on first use)."""
    found = app.extensions.get(EXTENSION_KEY)
    if found is None:
        found = app.extensions.setdefault(EXTENSION_KEY, PostbackThread(app))
    return found


class PostbackThread:
    """One daemon thread per web process processing queued postbacks, woken on commit or by its timer."""

    def __init__(self, app: Flask):
        self.app = app
        self.poll_seconds = float(app.config.get("POSTBACKS_POLL_SECONDS", DEFAULT_POLL_SECONDS))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure_started(self) -> None:
        """Start the thread unless it runs already (or was stopped)."""
        if (self._thread is not None and self._thread.is_alive()) or self._stop.is_set():
            return
        with self._lock:
            if (self._thread is not None and self._thread.is_alive()) or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="postbacks", daemon=True)
            self._thread.start()
            atexit.register(self.stop)

    def wake(self) -> None:
        """Make the thread look for queued postbacks now."""
        self.ensure_started()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish the postback in hand and stop, and wait for it."""
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
                    try:
                        process_pending()
                    except Exception:  # the database may be briefly away; the rows stay queued
                        log.exception("postback processing pass failed")
                        db.session.rollback()
                    self._wake.wait(self.poll_seconds)
            finally:
                db.session.remove()
