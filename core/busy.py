"""A busy database answers 503 with Retry-After, in a few seconds, instead of a bare 500 after 30.

SQLite waits for another writer's lock at most SQLITE_WEB_BUSY_TIMEOUT_MS (default 5 s) during a web
request, and SQLITE_BUSY_TIMEOUT_MS (default 30 s) elsewhere: the dispatcher and the worker are
patient, a person waiting for a page is not. PostgreSQL's lock timeouts answer the same way.
"""

from flask import Flask, has_request_context, make_response, render_template, request
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from core.apierrors import error_response

RETRY_AFTER_SECONDS = 5
JSON_PREFIXES = ("/api/", "/sandbox/api/")
_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")
_PG_LOCK_NOT_AVAILABLE = "55P03"


def is_busy(error: BaseException) -> bool:
    """Whether error says the database is held by another writer (not that something is broken)."""
    if not isinstance(error, OperationalError):
        return False
    if getattr(error.orig, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE:
        return True
    return any(message in str(error.orig).lower() for message in _BUSY_MESSAGES)


def busy_response():
    """The 503 answer: the JSON error shape under the APIs, a readable page elsewhere."""
    if request.path.startswith(JSON_PREFIXES):
        response = error_response(503, "busy", "the database is busy; try again in a few seconds")
    else:
        response = make_response(render_template("busy.html", retry_after=RETRY_AFTER_SECONDS), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask, db) -> None:
    """Answer busy-database errors with 503 and give SQLite web requests a short lock wait."""

    @app.errorhandler(OperationalError)
    def _busy(error: OperationalError):
        db.session.rollback()
        if not is_busy(error):
            raise error
        app.logger.warning("database busy: answered 503 to %s %s", request.method, request.path)
        return busy_response()

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "checkout")
    def _lock_wait(dbapi_connection, _record, _proxy):
        # Set on every checkout: a pooled connection serves requests and the dispatcher thread in turn.
        key = "SQLITE_WEB_BUSY_TIMEOUT_MS" if has_request_context() else "SQLITE_BUSY_TIMEOUT_MS"
        timeout = int(app.config[key])
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {timeout:d}")
        cursor.close()
