"""The emulated Graph API: POST /sandbox/graph/<version>/<pixel_id>/events answers as Meta would.

Everything under /sandbox/graph answers in Meta's error shape only (never the shop's, never HTML),
including unknown paths, other methods and unexpected failures.
"""

import json
import time
from datetime import datetime, timedelta

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from core.access import protect_api_blueprint, public
from core.busy import is_busy
from core.dbtypes import utcnow
from extensions import db
from sandbox import graph_errors
from sandbox.faults import META, Fault, draw_fault
from sandbox.graph_errors import GraphError, fbtrace_id
from sandbox.parsing import parse_events_request
from sandbox.receiver import accept_events, record_error
from sandbox.validation import Rules, first_error
from sandbox.versions import ServedVersion, serve_version, version_key

bp = Blueprint("sandbox_graph", __name__, url_prefix="/sandbox/graph")
protect_api_blueprint(bp)  # deny by default: every view here declares @public

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@bp.before_request
def _body_limit():
    """Take bodies up to the sandbox's own limit (not the shop's), form fields included."""
    limit = current_app.config["SANDBOX_MAX_BODY_BYTES"]
    request.max_content_length = limit
    request.max_form_memory_size = limit


@bp.route("/<version>/<pixel_id>/events", methods=ALL_METHODS)
@public
def events(version: str, pixel_id: str):
    """Receive a batch of server events for a pixel, or answer Meta's error."""
    trace = fbtrace_id()
    test_event_code = None
    injected = False
    served = None
    try:
        # Only requests to a registered pixel use up a tester's faults, never a stranger's.
        fault = draw_fault(META) if pixel_id in current_app.config["SANDBOX_PIXELS"] else Fault()
        if fault.latency_ms or fault.hang_ms:
            time.sleep((fault.latency_ms + fault.hang_ms) / 1000)
        now = utcnow()
        if fault.error is not None and fault.error != "timeout":
            injected = True
            raise _injected_error(fault.error, now, pixel_id)
        served = _served_version(version, pixel_id, now)
        if request.method != "POST":
            raise graph_errors.unknown_object(pixel_id, request.method.lower())
        parsed = parse_events_request(request)
        test_event_code = parsed.test_event_code
        _check_token(parsed.access_token, pixel_id)
        error = first_error(parsed.events, now.timestamp(), _rules())
        if error is not None:
            raise error
        received = accept_events(pixel_id, parsed.events, test_event_code, trace, now)
    except GraphError as error:
        return _with_version(_error_answer(error, trace, pixel_id, test_event_code, injected), served)
    answer = _json({"events_received": received, "messages": [], "fbtrace_id": trace}, 200, trace)
    return _with_version(answer, served)


@bp.route("/", methods=ALL_METHODS, defaults={"rest": ""})
@bp.route("/<path:rest>", methods=ALL_METHODS)
@public
def unknown_path(rest: str):
    """Answer Meta's error for any other path under the Graph root."""
    parts = rest.strip("/").split("/")
    unresolved = "/" + "/".join(parts[1:] if version_key(parts[0]) else parts)
    return _error_answer(graph_errors.unknown_path(unresolved), fbtrace_id(), None, None, False)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    answer = GraphError(error.code or 400, error.description or error.name, "OAuthException", 1, reason=error.name)
    return _error_answer(answer, fbtrace_id(), None, None, False)


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    db.session.rollback()
    if is_busy(error):  # another writer holds the database: a 503, which a client retries
        answer = graph_errors.server_error(503, "sandbox database busy")
        return _error_answer(answer, fbtrace_id(), None, None, False)
    current_app.logger.exception("sandbox graph request failed")
    answer = graph_errors.server_error(500, f"sandbox failure: {type(error).__name__}")
    return _error_answer(answer, fbtrace_id(), None, None, False)


def _rules() -> Rules:
    config = current_app.config
    return Rules(
        future_skew=timedelta(seconds=config["SANDBOX_FUTURE_SKEW_SECONDS"]),
        reject_negative_value=config["SANDBOX_REJECT_NEGATIVE_VALUE"],
    )


def _served_version(version: str, pixel_id: str, now: datetime) -> ServedVersion:
    """Return the version that answers: the one asked, or the oldest available for an expired one."""
    served = serve_version(version, now.date(), current_app.config.get("SANDBOX_VERSIONS"))
    if served is None:
        raise graph_errors.unknown_path(f"/{pixel_id}/events")
    return served


def _with_version(response: Response, served: ServedVersion | None) -> Response:
    """Name the version that answered (Graph's facebook-api-version header) and warn of an upgrade."""
    if served is not None:
        response.headers["facebook-api-version"] = served.name
        if served.warning:
            response.headers["X-Ad-Api-Version-Warning"] = served.warning
    return response


def _check_token(token: str | None, pixel_id: str) -> None:
    """Refuse a missing or unknown token (190), and a pixel the token may not use (100/33)."""
    pixels: dict = current_app.config["SANDBOX_PIXELS"]
    if not token:
        raise graph_errors.missing_token()
    if token not in pixels.values():
        raise graph_errors.invalid_token()
    if pixels.get(pixel_id) != token:
        raise graph_errors.unknown_object(pixel_id)


def _injected_error(kind: str, now: datetime, pixel_id: str) -> GraphError:
    if kind in graph_errors.THROTTLES:
        return graph_errors.throttled(kind, pixel_id)
    if kind == "transient":
        return graph_errors.transient_error()
    if kind == "token":
        return graph_errors.expired_token(now)
    return graph_errors.server_error()


def _error_answer(error: GraphError, trace: str, pixel_id, test_event_code, injected: bool):
    body = error.body(trace)
    try:
        record_error(error, body, pixel_id, test_event_code, trace, utcnow(), injected)
    except Exception:  # noqa: BLE001  (the answer matters more than the log of it)
        db.session.rollback()
        current_app.logger.exception("sandbox could not record an error answer")
    response = _json(body, error.status, trace)
    response.headers.update(error.headers)
    if error.code == 190:
        response.headers["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token"'
    return response


def _json(body: dict, status: int, trace: str) -> Response:
    """Answer JSON in Meta's key order (Flask's jsonify would sort the keys), with Meta's trace header."""
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers["x-fb-trace-id"] = trace
    return response
