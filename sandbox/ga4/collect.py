"""The emulated Measurement Protocol endpoints: /sandbox/ga4/mp/collect and /sandbox/ga4/debug/mp/collect."""

import time
import uuid

from flask import Blueprint, Response, jsonify, request

from core.access import protect_api_blueprint, public
from core.dbtypes import utcnow
from extensions import db
from sandbox.faults import draw_fault
from sandbox.ga4.models import Ga4Hit
from sandbox.ga4.validation import parse_body, validation_messages
from sandbox.secrets_shown import clean_json, clean_text, hint

bp = Blueprint("sandbox_ga4", __name__, url_prefix="/sandbox/ga4")
protect_api_blueprint(bp)  # deny by default: every view here declares @public


@bp.post("/mp/collect")
@public
def collect():
    """Record the events and answer 204, whatever they are, as Google does."""
    failure = _fault()
    if failure is not None:
        return failure
    body, problems = parse_body(request.get_data(cache=False))
    _record(body, problems, debug=False)
    return Response(status=204)


@bp.post("/debug/mp/collect")
@public
def debug_collect():
    """Answer the validation messages Google's validation server would give; record the request."""
    failure = _fault()
    if failure is not None:
        return failure
    body, messages = parse_body(request.get_data(cache=False))
    if body is not None:
        messages = validation_messages(body, int(utcnow().timestamp() * 1_000_000))
    _record(body, messages, debug=True)
    return jsonify({"validationMessages": messages})


def _fault() -> Response | None:
    """Apply an injected fault: wait, then answer the error (or None to go on)."""
    fault = draw_fault("ga4")
    if fault.latency_ms or fault.hang_ms:
        time.sleep((fault.latency_ms + fault.hang_ms) / 1000)
    if fault.error == "unavailable":
        return Response("The service is currently unavailable.", status=503, mimetype="text/plain")
    if fault.error in ("server", "auth"):
        return Response("Internal error (injected by the sandbox).", status=500, mimetype="text/plain")
    return None


def _record(body: dict | None, messages: list[dict], debug: bool) -> None:
    """Store one row per event of the request (one row without event when there is none to store)."""
    now = utcnow()
    common = {
        "received_at": now,
        "request_id": uuid.uuid4().hex,
        "debug": debug,
        "measurement_id": (clean_text(request.args.get("measurement_id")) or "")[:64] or None,
        "api_secret_hint": hint(request.args.get("api_secret")),
        "messages": messages or None,
    }
    events = body.get("events") if body is not None else None
    if body is not None:
        common["client_id"] = clean_text(body.get("client_id"))
        common["request"] = clean_json({key: value for key, value in body.items() if key != "events"})
    if isinstance(events, list) and events:
        for event in events:
            name = event.get("name") if isinstance(event, dict) else None
            db.session.add(Ga4Hit(**common, event_name=clean_text(name), event=clean_json(event)))
    else:
        db.session.add(Ga4Hit(**common))
    db.session.commit()
