"""What a refund module tells the admin after a status change, read back from its recorded decisions."""

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select

from delivery.models import FIRED, Decision, OutboxEvent
from extensions import db

CHUNK = 500  # orders asked about per query, well under every database's limit on bound parameters


def outcomes_reader(destination: str, display_name: str) -> Callable:
    """Return the module's ``status_change_outcomes`` hook (shop.modules) for its destination."""
    from shop.modules import StatusChangeOutcome

    def status_change_outcomes(
        order_ids: Sequence[int], since: datetime, trigger: str = "status"
    ) -> dict[int, StatusChangeOutcome]:
        outcomes: dict[int, StatusChangeOutcome] = {}
        ids = list(dict.fromkeys(order_ids))
        for start in range(0, len(ids), CHUNK):
            rows = db.session.execute(
                select(Decision, OutboxEvent)
                .outerjoin(OutboxEvent, Decision.outbox_event_id == OutboxEvent.id)
                .where(Decision.destination == destination, Decision.order_id.in_(ids[start : start + CHUNK]))
                .where(Decision.trigger == trigger, Decision.at >= since)
                .order_by(Decision.id)
            )
            for decision, event in rows:  # the latest wins
                if decision.outcome == FIRED and event is not None:
                    outcomes[decision.order_id] = StatusChangeOutcome(
                        module=display_name,
                        queued=True,
                        event_name=event.event_name,
                        value=event.value,
                        currency=event.currency,
                    )
                else:
                    kind = decision.reason.split(":", 1)[0]
                    outcomes[decision.order_id] = StatusChangeOutcome(
                        module=display_name, queued=False, reason=decision.reason, reason_kind=kind
                    )
        return outcomes

    return status_change_outcomes
