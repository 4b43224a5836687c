"""The JSON API of delivery: /api/events, /api/decisions and resend, for every destination.

A module may mount the same views under its own prefix, narrowed to its destination
(``/api/pixelplus/events`` is Meta's events only). Payloads are returned with their numbers exactly as
stored and sent (``"value": 12.30``), which the default JSON encoder would turn into strings; hence the
service's own serializer.
"""

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from core.access import protect_api_blueprint, requires
from core.apierrors import ApiError, register_json_errors
from core.inputs import MAX_ID, whole_number
from delivery import event_log
from delivery.dispatcher import NotFailed, requeue
from delivery.jsontext import dumps
from delivery.models import Decision, OutboxEvent
from delivery.registry import destinations
from extensions import csrf, db

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000


def _json(data, status: int = 200) -> Response:
    return Response(dumps(data), status=status, mimetype="application/json")


def _int_arg(name: str) -> int | None:
    """Return an integer query argument, or raise a 422 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return whole_number(raw)
    except ValueError:
        message = f"A whole number from 0 to {MAX_ID}."
        raise ApiError(422, "invalid", f"{name} must be a whole number from 0 to {MAX_ID}", {name: message}) from None


def _choice_arg(name: str, choices: tuple[str, ...]) -> str | None:
    """Return a query argument that must be one of choices, or raise a 422 listing them."""
    value = request.args.get(name) or None
    if value is not None and value not in choices:
        listed = ", ".join(choices)
        raise ApiError(422, "invalid", f"{name} must be one of {listed}", {name: f"One of {listed}."})
    return value


def _page(model, conditions) -> list:
    """Return the rows of model matching conditions, oldest first, from ``after_id``, at most ``limit``."""
    query = select(model).where(*conditions)
    after = _int_arg("after_id")
    if after is not None:
        query = query.where(model.id > after)
    return list(db.session.scalars(query.order_by(model.id).limit(_limit())))


def _limit() -> int:
    limit = _int_arg("limit")
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(422, "invalid", f"limit must be 1 to {MAX_LIMIT}", {"limit": f"Between 1 and {MAX_LIMIT}."})
    return limit


def make_blueprint(name: str, url_prefix: str, destination: str | None = None) -> Blueprint:
    """Return the events and decisions API under url_prefix, for every destination or only one."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    csrf.exempt(bp)  # API calls authenticate with a key, never the session cookie
    protect_api_blueprint(bp)
    register_json_errors(bp)

    def chosen_destination() -> str | None:
        if destination is not None:
            return destination
        return _choice_arg("destination", tuple(destinations(current_app)))

    def get_event(event_id: int) -> OutboxEvent:
        row = db.session.get(OutboxEvent, event_id)
        if row is None or (destination is not None and row.destination != destination):
            raise ApiError(404, "not_found", f"no event {event_id}")
        return row

    @bp.get("/events")
    @requires("read")
    def events():
        """List outbox events (oldest first), by destination, order and status; ``after_id`` and ``limit`` page."""
        filters = event_log.EventFilter(
            status=_choice_arg("status", event_log.STATUSES),
            destination=chosen_destination(),
            order_id=_int_arg("order_id"),
            order_reference=request.args.get("order_reference") or None,
            test_event_code=request.args.get("test_event_code") or None,
        )
        return _json([event_log.event_json(row) for row in _page(OutboxEvent, filters.conditions())])

    @bp.get("/events/<int:event_id>")
    @requires("read")
    def event(event_id: int):
        """Return one outbox event."""
        return _json(event_log.event_json(get_event(event_id)))

    @bp.post("/events/<int:event_id>/resend")
    @requires("events.resend")
    def resend(event_id: int):
        """Queue a failed event again with the same event_id; 409 when it is not failed (or already queued)."""
        row = get_event(event_id)
        try:
            requeue(row)
        except NotFailed as error:
            db.session.rollback()
            raise ApiError(409, "conflict", str(error)) from None
        db.session.commit()
        return _json(event_log.event_json(row))

    @bp.get("/decisions")
    @requires("read")
    def decisions():
        """List decisions (oldest first), by destination, order and outcome; ``after_id`` and ``limit`` page."""
        filters = event_log.DecisionFilter(
            outcome=_choice_arg("outcome", event_log.OUTCOMES),
            destination=chosen_destination(),
            order_id=_int_arg("order_id"),
        )
        return _json([event_log.decision_json(row) for row in _page(Decision, filters.conditions())])

    return bp
