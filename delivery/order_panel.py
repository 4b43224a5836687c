"""A destination's panel on the back-office order page: the decisions and events of one destination for the order.

Every refund module shows the same panel (the shop's displayAdminOrder hook), reading the delivery
service's tables for its own destination only; ``order_panel`` builds the module's hook.
"""

from collections.abc import Callable
from decimal import Decimal

from flask import current_app, render_template, url_for
from markupsafe import Markup
from sqlalchemy import select

from delivery.models import FAILED, SENT, Decision, OutboxEvent
from extensions import db
from shop.models import OrderState

ZERO = Decimal("0.00")


def _link(endpoint: str, **values) -> str | None:
    """Return the URL of a page another part of the app may provide, or None while it does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def money_by_status(events) -> dict[str, Decimal]:
    """Sum the events' values as the destination's answers stand: acknowledged, waiting, failed, and test apart.

    Only acknowledged money was reported; a failed event (e.g. an expired token) or a pending one was
    not, and a test event (Meta's Test events) shows only there.
    """
    money = {"acknowledged": ZERO, "waiting": ZERO, "failed": ZERO, "test": ZERO}
    for event in events:
        if event.value is None:
            continue
        if event.test_event_code:
            money["test"] += event.value
        elif event.status == SENT:
            money["acknowledged"] += event.value
        elif event.status == FAILED:
            money["failed"] += event.value
        else:
            money["waiting"] += event.value
    return money


def order_panel(destination: str, service: str, prefix: str) -> Callable[[object], Markup]:
    """Return a module's admin_order_panel hook for destination.

    service names who acknowledges the money ("Meta", "GA4"); prefix starts the panel's element ids
    (``<prefix>-events``, ``<prefix>-decisions``, ``<prefix>-money``).
    """

    def render(order) -> Markup:
        """Return the panel's HTML for order."""
        decisions = list(
            db.session.scalars(
                select(Decision)
                .where(Decision.order_id == order.id, Decision.destination == destination)
                .order_by(Decision.id)
            )
        )
        events = list(
            db.session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.order_id == order.id, OutboxEvent.destination == destination)
                .order_by(OutboxEvent.id)
            )
        )
        state_ids = {d.old_state_id for d in decisions} | {d.new_state_id for d in decisions}
        states = {s.id: s.name for s in db.session.scalars(select(OrderState).where(OrderState.id.in_(state_ids)))}
        # The template is autoescaped: Markup only marks its output as the HTML it already is.
        return Markup(  # noqa: S704
            render_template(
                "delivery/order_panel.html",
                order=order,
                service=service,
                prefix=prefix,
                decisions=decisions,
                events=events,
                states=states,
                money=money_by_status(events),
                events_url=_link("delivery_log.events", order_id=order.id, destination=destination),
                decisions_url=_link("delivery_log.decisions", order_id=order.id, destination=destination),
                event_url=lambda event: _link("delivery_log.event", event_id=event.id),
            )
        )

    return render
