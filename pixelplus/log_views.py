"""The module's earlier log addresses (/admin/pixelplus/events, /decisions), now the delivery service's
pages narrowed to Meta: kept as redirects so bookmarks and shared links keep working."""

from flask import Blueprint, redirect, request, url_for

from core.access import protect_browser_blueprint, requires
from delivery.models import META_CAPI

bp = Blueprint("pixelplus_events", __name__, url_prefix="/admin/pixelplus")
protect_browser_blueprint(bp)


def _args() -> dict:
    return {"destination": META_CAPI, **request.args.to_dict()}


@bp.get("/events")
@requires("read")
def events():
    """Redirect to the sent-events log, Meta's events."""
    return redirect(url_for("delivery_log.events", **_args()), 301)


@bp.get("/events/<int:event_id>")
@requires("read")
def event(event_id: int):
    """Redirect to the event's page."""
    return redirect(url_for("delivery_log.event", event_id=event_id), 301)


@bp.get("/decisions")
@requires("read")
def decisions():
    """Redirect to the decisions list, Meta's decisions."""
    return redirect(url_for("delivery_log.decisions", **_args()), 301)
