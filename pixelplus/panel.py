"""The Pixel Plus panel on the back-office order page: the module's decisions and events for the order."""

from flask import current_app, render_template, url_for
from markupsafe import Markup
from sqlalchemy import select

from extensions import db
from pixelplus.models import Decision, OutboxEvent
from shop.models import OrderState


def _link(endpoint: str, **values) -> str | None:
    """Return the URL of a page another part of the module may provide, or None while it does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def render(order) -> Markup:
    """Return the panel's HTML for order (the shop's displayAdminOrder hook)."""
    decisions = list(db.session.scalars(select(Decision).where(Decision.order_id == order.id).order_by(Decision.id)))
    events = list(
        db.session.scalars(select(OutboxEvent).where(OutboxEvent.order_id == order.id).order_by(OutboxEvent.id))
    )
    state_ids = {d.old_state_id for d in decisions} | {d.new_state_id for d in decisions}
    states = {s.id: s.name for s in db.session.scalars(select(OrderState).where(OrderState.id.in_(state_ids)))}
    # The template is autoescaped: Markup only marks its output as the HTML it already is.
    return Markup(  # noqa: S704
        render_template(
            "pixelplus/order_panel.html",
            order=order,
            decisions=decisions,
            events=events,
            states=states,
            reported=sum((e.value for e in events if e.value is not None), start=0),
            events_url=_link("pixelplus_events.events", order_id=order.id),
            decisions_url=_link("pixelplus_events.decisions", order_id=order.id),
            event_url=lambda event: _link("pixelplus_events.event", event_id=event.id),
        )
    )
