"""A circuit breaker per destination, kept in the database so every worker shares it.

Closed: events go out as they fall due. After ``threshold`` consecutive transient failures the
destination opens: its events stop being sent one by one, and a single *probe* request at a time
(leased like an event, so a dead worker's probe expires) checks whether it answers again, every few
seconds at most ``probe_max`` apart. The first answer that is not a transient failure closes it and
pulls the destination's waiting events forward to now, so the backlog leaves at batch speed instead of
each event waiting out its own backoff.
"""

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from delivery.models import PENDING, DestinationState, OutboxEvent
from delivery.registry import TRANSIENT
from extensions import db


class Breaker:
    """The breaker rules; every method runs inside the caller's transaction and never commits."""

    def __init__(self, threshold: int, schedule, probe_max: float):
        self.threshold = max(1, int(threshold))
        self.schedule = tuple(schedule)
        self.probe_max = float(probe_max)

    def open_destinations(self) -> dict[str, DestinationState]:
        """Return the state of every open destination, by name."""
        rows = db.session.scalars(select(DestinationState).where(DestinationState.opened_at.is_not(None)))
        return {row.destination: row for row in rows}

    @staticmethod
    def probe_ready(state: DestinationState, now: datetime) -> bool:
        """Whether an open destination may be probed now (due, and no probe in flight)."""
        due = state.next_probe_at is None or state.next_probe_at <= now
        return due and (state.probe_until is None or state.probe_until < now)

    def take_probe(self, destination: str, claim: str, now: datetime, lease: timedelta) -> bool:
        """Reserve the destination's single probe for claim; False when another worker holds it."""
        result = db.session.execute(
            update(DestinationState)
            .where(
                DestinationState.destination == destination,
                DestinationState.opened_at.is_not(None),
                or_(DestinationState.next_probe_at.is_(None), DestinationState.next_probe_at <= now),
                or_(DestinationState.probe_until.is_(None), DestinationState.probe_until < now),
            )
            .values(probe_claim=claim[:64], probe_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def release_probe(self, destination: str, claim: str) -> None:
        """Give the probe back unused (nothing was left to send)."""
        db.session.execute(
            update(DestinationState)
            .where(DestinationState.destination == destination, DestinationState.probe_claim == claim[:64])
            .values(probe_claim=None, probe_until=None)
            .execution_options(synchronize_session=False)
        )

    def probe_wait(self, failed_probes: int) -> float:
        """Seconds until the next probe: the retry schedule's floors, never more than probe_max."""
        step = self.schedule[min(max(failed_probes, 1), len(self.schedule)) - 1]
        return min(step, self.probe_max)

    def record(self, destination: str, verdict: str, claim: str, now: datetime) -> int:
        """Account for one answer of destination; return how many waiting events were pulled forward."""
        state = db.session.scalars(
            select(DestinationState).where(DestinationState.destination == destination).with_for_update()
        ).first()
        if verdict != TRANSIENT:
            if state is None or (state.opened_at is None and not state.consecutive_failures):
                return 0
            was_open = state.opened_at is not None
            state.consecutive_failures = 0
            state.opened_at = state.next_probe_at = state.probe_claim = state.probe_until = None
            return self._pull_forward(destination, now) if was_open else 0
        if state is None:
            state = DestinationState(destination=destination, consecutive_failures=0)
            db.session.add(state)
        state.consecutive_failures += 1
        if state.opened_at is None:
            if state.consecutive_failures >= self.threshold:
                state.opened_at = now
                state.next_probe_at = now + timedelta(seconds=self.probe_wait(1))
            return 0
        if state.probe_claim == claim[:64]:
            # The first probe came 5 s after opening; after a failed probe, the schedule's next step.
            failed_probes = state.consecutive_failures - self.threshold + 1
            state.next_probe_at = now + timedelta(seconds=self.probe_wait(failed_probes))
            state.probe_claim = state.probe_until = None
        return 0

    @staticmethod
    def _pull_forward(destination: str, now: datetime) -> int:
        result = db.session.execute(
            update(OutboxEvent)
            .where(
                OutboxEvent.destination == destination,
                OutboxEvent.status == PENDING,
                OutboxEvent.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount
