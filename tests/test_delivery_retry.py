"""Retry until the window closes: the schedule's floors with jitter, Retry-After, the delivery window,
and the circuit breaker that probes a failing destination instead of hammering it."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from delivery import retry
from delivery.dispatcher import Dispatcher
from delivery.http import retry_after_seconds
from delivery.models import FAILED, PENDING, SENT, DeliveryAttempt, DestinationState, OutboxEvent
from extensions import db
from pixelplus.meta import delivery_window
from tests.delivery_support import MovingClock, add_events, configure, meta_error

FLOORS = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)


def test_the_default_schedule_is_the_issues():
    assert retry.DEFAULT_SCHEDULE == FLOORS


@pytest.mark.parametrize("attempts, floor", [(1, 5), (2, 30), (3, 120), (4, 600), (5, 1800), (6, 3600), (40, 3600)])
def test_a_wait_is_never_below_its_floor_and_at_most_half_again(attempts, floor):
    waits = [retry.retry_wait(attempts, FLOORS) for _ in range(200)]
    assert min(waits) >= floor and max(waits) <= floor * 1.5
    assert retry.retry_wait(attempts, FLOORS, rand=lambda: 0.0) == floor
    assert retry.retry_wait(attempts, FLOORS, rand=lambda: 1.0) == floor * 1.5


def test_retry_after_lengthens_a_wait_but_never_shortens_it():
    assert retry.retry_wait(1, FLOORS, retry_after=120, rand=lambda: 0.0) == 120
    assert retry.retry_wait(3, FLOORS, retry_after=1, rand=lambda: 0.0) == 120
    assert retry.retry_wait(1, FLOORS, retry_after=10**9, rand=lambda: 0.0) == retry.MAX_RETRY_AFTER


def test_retry_after_headers_are_read_as_seconds_or_a_date():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("9" * 40) == 7 * 86400  # huge numbers are capped, not trusted
    in_a_minute = (datetime.now(UTC) + timedelta(seconds=60)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 55 <= retry_after_seconds(in_a_minute) <= 60


def test_a_bad_schedule_is_refused():
    with pytest.raises(ValueError):
        retry.parse_schedule("5,0,30")
    assert retry.parse_schedule("5, 30") == (5.0, 30.0)
    assert retry.parse_schedule(0.5) == (0.5,)


class Row:
    """An outbox row as delivery_window reads it."""

    def __init__(self, payload: dict, created_at=None):
        self.payload = payload
        self.created_at = created_at or datetime(2026, 11, 1, tzinfo=UTC)


def test_metas_window_is_event_time_plus_7_days_or_62_for_physical_store_less_an_hour():
    at = int(datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp())
    assert delivery_window(Row({"event_time": at, "action_source": "system_generated"})) == datetime(
        2026, 11, 27, 11, 0, tzinfo=UTC
    )
    assert delivery_window(Row({"event_time": at, "action_source": "physical_store"})) == datetime(
        2027, 1, 21, 11, 0, tzinfo=UTC
    )
    # Without a usable event_time, the row's creation counts.
    assert delivery_window(Row({"event_time": 2**63})) == datetime(2026, 11, 7, 23, 0, tzinfo=UTC)


@pytest.fixture
def app_config(app_config):
    app_config.update(SANDBOX_ENABLED=False, DELIVERY_BREAKER_THRESHOLD=3, DELIVERY_PROBE_MAX_SECONDS=30)
    return app_config


def set_event_time(event_id: int, moment: datetime) -> None:
    row = db.session.get(OutboxEvent, event_id)
    payload = json.loads(row.payload_json)
    payload["event_time"] = int(moment.timestamp())
    row.payload_json = json.dumps(payload)
    db.session.commit()


def test_a_transient_failure_is_retried_until_the_window_closes_then_fails_saying_so(app, graph):
    with app.app_context():
        configure(graph.url)
        (event_id,) = add_events(1)
        clock = MovingClock()
        # Meta still accepts it for 3 hours (7 days after its event_time, less the 1 hour margin).
        set_event_time(event_id, clock() - timedelta(days=7) + timedelta(hours=4))
        graph.fail_next = [(503, meta_error(2, "Service temporarily unavailable", transient=True))] * 1000
        dispatcher = Dispatcher(app, worker="window", clock=clock)
        for _ in range(24 * 6):  # a day in 10-minute steps
            dispatcher.run_once()
            clock.advance(600)
        dispatcher.close()

        row = db.session.get(OutboxEvent, event_id)
        assert row.status == FAILED
        assert row.last_error.startswith("window closed at ")
        assert f"after {row.attempts} attempts: Service temporarily unavailable" in row.last_error
        # Far more tries than the old cap of 8, all within the window (probes every 10 minutes here).
        assert row.attempts > 8
        attempts = db.session.scalars(select(DeliveryAttempt.at)).all()
        window = delivery_window(row)
        assert all(at < window for at in attempts)


def test_an_event_whose_window_closed_while_waiting_fails_without_a_request(app, graph):
    with app.app_context():
        configure(graph.url)
        (event_id,) = add_events(1)
        set_event_time(event_id, datetime.now(UTC) - timedelta(days=8))
        dispatcher = Dispatcher(app, worker="window")
        summary = dispatcher.run_once()
        dispatcher.close()
        assert summary.requests == 0
        row = db.session.get(OutboxEvent, event_id)
        assert row.status == FAILED and row.last_error.startswith("window closed at ")
        assert "after 0 attempts: never answered" in row.last_error
    assert graph.requests == []


def test_a_permanent_error_fails_at_once_with_its_own_reason(app, graph):
    with app.app_context():
        configure(graph.url)
        (event_id,) = add_events(1)
        graph.fail_next = [(400, meta_error(190, "Error validating access token"))]
        dispatcher = Dispatcher(app, worker="permanent")
        assert dispatcher.run_once().failed == 1
        dispatcher.close()
        row = db.session.get(OutboxEvent, event_id)
        assert row.attempts == 1 and row.last_error.startswith("Error validating access token")
        assert "window" not in row.last_error


def states() -> DestinationState | None:
    db.session.expire_all()
    return db.session.get(DestinationState, "meta_capi")


def test_the_breaker_opens_probes_one_at_a_time_and_pulls_the_backlog_forward(app, graph):
    with app.app_context():
        configure(graph.url)
        clock = MovingClock()
        dispatcher = Dispatcher(app, worker="breaker", clock=clock)
        down = [(503, meta_error(2, "Service temporarily unavailable", transient=True))] * 1000
        graph.fail_next = list(down)
        # Three events, each in its own request: three consecutive transient failures open the breaker.
        for _ in range(3):
            add_events(1)
            clock.advance(1)  # the moving clock passes the new row's real creation time
            dispatcher.run_once()
        state = states()
        assert state.opened_at == clock() and state.consecutive_failures == 3
        assert state.next_probe_at == clock() + timedelta(seconds=5)

        # While open, new and retried events wait; only one probe request goes out when it is due.
        add_events(20)
        requests_before = len(graph.requests)
        assert dispatcher.run_once().requests == 0
        assert 4.9 <= dispatcher.seconds_until_due() <= 5.0
        clock.advance(5)
        summary = dispatcher.run_once()
        assert summary.requests == 1 and len(graph.requests) == requests_before + 1
        assert len(graph.requests[-1]["body"]["data"]) == 1  # the probe carries one event
        state = states()
        assert state.next_probe_at == clock() + timedelta(seconds=30)  # 30 s, the cap of this test's probes
        assert state.probe_claim is None

        # An hour later, still down: one probe per 30 s, never the whole backlog.
        for _ in range(120):
            clock.advance(30)
            assert dispatcher.run_once().requests <= 1
        pending = db.session.scalar(select(func.count()).where(OutboxEvent.status == PENDING))
        assert pending == 23

        # The destination answers again: the first probe closes the breaker and the backlog leaves at once.
        graph.fail_next.clear()
        clock.advance(30)
        started = time.monotonic()
        summary = dispatcher.run_once()
        assert summary.sent == 23, summary
        assert time.monotonic() - started < 30  # the issue's bound; milliseconds on an idle machine
        assert summary.requests == 2  # the probe, then one batch of the other 22
        assert states().opened_at is None and states().consecutive_failures == 0
        dispatcher.close()
        assert db.session.scalar(select(func.count()).where(OutboxEvent.status == SENT)) == 23


def test_a_dead_workers_probe_expires_and_another_worker_probes(app, graph):
    with app.app_context():
        configure(graph.url)
        clock = MovingClock()
        graph.fail_next = [(503, meta_error(2, "down", transient=True))] * 1000
        first = Dispatcher(app, worker="first", clock=clock)
        for _ in range(3):
            add_events(1)
            clock.advance(1)
            first.run_once()
        clock.advance(5)
        probe = first.claim()
        assert probe.probe and len(probe.items) == 1
        # The first worker dies holding the probe: nobody else may probe until its lease runs out.
        second = Dispatcher(app, worker="second", clock=clock)
        assert second.claim() is None
        clock.advance(121)  # past the 120 s lease
        again = second.claim()
        assert again is not None and again.probe
        first.close()
        second.close()
