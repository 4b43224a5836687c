"""When queued postbacks are processed: never inside the request that received them.

The shop's dispatch modes (``PIXELPLUS_DISPATCH``) apply: ``thread`` wakes a background thread of the web
process once the request's transaction has committed, ``inline`` processes right after that commit in
the same thread (tests), ``worker`` leaves them to ``flask postbacks worker`` / ``process``.
"""

import logging

from flask import Flask

from core.background import BackgroundThread, on_commit, request_after_commit
from extensions import db
from postbacks.processing import process_pending

log = logging.getLogger(__name__)

THREAD, INLINE, WORKER = "thread", "inline", "worker"
EXTENSION_KEY = "postbacks.runner"
WAKE_KEY = "postbacks_wake"
DEFAULT_POLL_SECONDS = 5.0


def init_app(app: Flask) -> None:
    """Wire the wake-up on commit; in thread mode, pick up leftovers when the first request comes."""
    on_commit(WAKE_KEY, _wake)
    if mode(app) == THREAD:

        @app.before_request
        def _start_postback_thread():
            runner(app).ensure_started()


def mode(app: Flask) -> str:
    """Return the app's dispatch mode."""
    return str(app.config.get("PIXELPLUS_DISPATCH", THREAD)).strip().lower()


def request_processing() -> None:
    """Ask for a processing pass once the current transaction commits."""
    request_after_commit(WAKE_KEY)


def _wake(app: Flask) -> None:
    if mode(app) == THREAD:
        runner(app).wake()
    elif mode(app) == INLINE:
        run_inline(app)


def run_inline(app: Flask) -> None:
    """Process what is queued now, in this thread, with its own app context and session."""
    with app.app_context():
        try:
            process_pending()
        except Exception:
            log.exception("inline postback processing failed; the postbacks stay queued")
            db.session.rollback()


def runner(app: Flask) -> BackgroundThread:
    """Return the app's postback thread (created, not started, on first use)."""
    found = app.extensions.get(EXTENSION_KEY)
    if found is None:
        poll = float(app.config.get("POSTBACKS_POLL_SECONDS", DEFAULT_POLL_SECONDS))
        found = app.extensions.setdefault(EXTENSION_KEY, BackgroundThread(app, "postbacks", _process, poll))
    return found


def _process() -> None:
    process_pending()
