"""The sandbox's JSON API for testers' scripts: received events and recent errors (faults: sandbox.google_api)."""

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from core.access import protect_api_blueprint, requires
from core.apierrors import ApiError, register_json_errors
from core.inputs import whole_number
from extensions import db
from sandbox.google_api import RECEIVED_MODELS, received_json
from sandbox.models import ErrorAnswer, ReceivedEvent
from sandbox.receiver import forget_everything

bp = Blueprint("sandbox_api", __name__, url_prefix="/sandbox/api")
protect_api_blueprint(bp)
register_json_errors(bp)


def _whole_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return whole_number(raw)
    except ValueError as error:
        raise ApiError(422, "invalid", f"{name} {error}", {name: str(error)}) from None


def received_query(pixel_id: str | None, test_event_code: str | None):
    """Return the select of received events matching the filters (empty filters match everything)."""
    query = select(ReceivedEvent)
    if pixel_id:
        query = query.where(ReceivedEvent.pixel_id == pixel_id)
    if test_event_code:
        query = query.where(ReceivedEvent.test_event_code == test_event_code)
    return query


@bp.get("/received")
@requires("sandbox")
def received():
    """List the received events matching pixel_id and test_event_code, oldest first (all unless limit)."""
    destination = request.args.get("destination") or "meta_capi"
    if destination in RECEIVED_MODELS:
        return jsonify(received_json(destination, _whole_arg("after"), _whole_arg("limit")))
    if destination != "meta_capi":
        raise ApiError(
            422, "invalid", "unknown destination", {"destination": "use meta_capi, ga4, google_ads or webhook"}
        )
    query = received_query(request.args.get("pixel_id"), request.args.get("test_event_code"))
    after, limit = _whole_arg("after"), _whole_arg("limit")
    if after is not None:
        query = query.where(ReceivedEvent.id > after)
    query = query.order_by(ReceivedEvent.id)
    if limit is not None:
        query = query.limit(limit)
    return jsonify([row.to_json() for row in db.session.scalars(query)])


@bp.delete("/received")
@requires("sandbox.manage")
def forget_received():
    """Forget every received event and error answer."""
    events, errors = forget_everything()
    db.session.commit()
    return jsonify({"deleted_events": events, "deleted_errors": errors})


@bp.get("/errors")
@requires("sandbox")
def errors():
    """List the recent error answers, newest first, with their reason."""
    query = select(ErrorAnswer).order_by(ErrorAnswer.id.desc())
    if request.args.get("pixel_id"):
        query = query.where(ErrorAnswer.pixel_id == request.args["pixel_id"])
    limit = _whole_arg("limit")
    if limit is not None:
        query = query.limit(limit)
    return jsonify([row.to_json() for row in db.session.scalars(query)])
