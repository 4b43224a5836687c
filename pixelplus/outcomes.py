"""What Pixel Plus tells the admin where they act: each status change's outcome, and the test-mode banner.

The outcomes are read back from the decisions the receivers recorded (the truth of what was queued),
through the shop's generic hooks (``shop.modules``): the status change's message and the bulk report.
"""

from collections.abc import Sequence
from datetime import datetime

from flask import render_template
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from extensions import db
from pixelplus.models import FIRED, META_CAPI, Decision, OutboxEvent
from pixelplus.settings import load_settings
from shop.modules import StatusChangeOutcome

DISPLAY_NAME = "Pixel Plus"
# Orders asked about per query, well under every database's limit on bound parameters.
CHUNK = 500


def status_change_outcomes(
    order_ids: Sequence[int], since: datetime, trigger: str = "status"
) -> dict[int, StatusChangeOutcome]:
    """Return the outcome of each order's latest status change (or credit slip) made at or after since."""
    outcomes: dict[int, StatusChangeOutcome] = {}
    ids = list(dict.fromkeys(order_ids))
    for start in range(0, len(ids), CHUNK):
        rows = db.session.execute(
            select(Decision, OutboxEvent)
            .outerjoin(OutboxEvent, Decision.outbox_event_id == OutboxEvent.id)
            .where(Decision.order_id.in_(ids[start : start + CHUNK]), Decision.trigger == trigger)
            .where(Decision.at >= since, Decision.destination == META_CAPI)
            .order_by(Decision.id)
        )
        for decision, event in rows:
            outcomes[decision.order_id] = _outcome(decision, event)  # the latest wins
    return outcomes


def _outcome(decision: Decision, event: OutboxEvent | None) -> StatusChangeOutcome:
    if decision.outcome == FIRED and event is not None:
        return StatusChangeOutcome(
            module=DISPLAY_NAME,
            queued=True,
            event_name=event.event_name,
            value=event.value,
            currency=event.currency,
            test=bool(event.test_event_code),
        )
    return StatusChangeOutcome(
        module=DISPLAY_NAME, queued=False, reason=decision.reason, reason_kind=reason_kind(decision.reason)
    )


def reason_kind(reason: str) -> str:
    """Return a skip reason without its figures, so a bulk report can count alike reasons together."""
    if reason.startswith("the change is dated"):
        return "the change is older than Meta accepts (7 days)"
    return reason.split(":", 1)[0]


def test_mode_banner() -> Markup | None:
    """Return the back-office banner while test mode is on (a saved test event code not yet expired)."""
    settings = load_settings()
    if not settings.in_test_mode():
        return None
    # The template is autoescaped: Markup only marks its output as the HTML it already is.
    return Markup(  # noqa: S704
        render_template(
            "pixelplus/test_mode_banner.html",
            settings=settings,
            can_view_settings=current_user.can("settings.view"),
        )
    )
