"""The dispatcher against a scriptable Graph endpoint over real HTTP: batches, retries, failures, splits."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.dbtypes import utcnow
from delivery.dispatcher import Dispatcher, NotFailed, purge_sent, requeue
from delivery.models import FAILED, PENDING, SENT, Decision, DeliveryAttempt, OutboxEvent
from extensions import db
from tests.conftest import GRAPH_VERSION
from tests.delivery_support import (
    PIXEL_ID,
    TOKEN,
    add_events,
    configure,
    meta_error,
    set_batch_size,
)


@pytest.fixture
def app_config(app_config):
    app_config.update(DELIVERY_RETRY_SCHEDULE=[0.001], PIXELPLUS_READ_TIMEOUT=1.0, SANDBOX_ENABLED=False)
    return app_config


@pytest.fixture
def dispatcher(app, graph):
    with app.app_context():
        configure(graph.url)
        worker = Dispatcher(app, worker="test-worker")
        yield worker
        worker.close()


def rows(ids=None) -> list[OutboxEvent]:
    query = select(OutboxEvent).order_by(OutboxEvent.id)
    if ids is not None:
        query = query.where(OutboxEvent.id.in_(ids))
    db.session.expire_all()
    return list(db.session.scalars(query))


def run_until_settled(dispatcher, passes: int = 20):
    """Run passes until nothing is pending (retries have a tiny backoff in these tests)."""
    for _ in range(passes):
        dispatcher.run_once()
        if not db.session.scalar(select(func.count()).where(OutboxEvent.status == PENDING)):
            return
        db.session.expire_all()
        wait = dispatcher.seconds_until_due() or 0
        assert wait < 1, "a retry was scheduled too far ahead for a tiny backoff"
        time.sleep(wait)  # the tiny backoff of these tests: milliseconds
    raise AssertionError("events still pending")


def test_a_batch_goes_out_in_one_request_with_the_stored_payloads(dispatcher, graph):
    ids = add_events(3)
    stored = [row.payload_json for row in rows(ids)]

    summary = dispatcher.run_once()

    assert str(summary) == "sent 3, retrying 0, failed 0"
    assert len(graph.requests) == 1
    request = graph.requests[0]
    assert request["version"] == GRAPH_VERSION and request["pixel_id"] == PIXEL_ID
    assert "access_token" not in request["url"]
    assert request["body"]["access_token"] == TOKEN
    assert [json.loads(p) for p in stored] == request["body"]["data"]
    # The value goes out exactly as stored (a JSON number with its two decimals, never through a float).
    assert '"value": 12.30' in graph.raw_bodies[0]
    assert "test_event_code" not in request["body"]
    for row in rows(ids):
        assert row.status == SENT and row.attempts == 1 and row.sent_at is not None
        assert row.response["events_received"] == 3
        assert row.claimed_by is None
    attempt = db.session.scalars(select(DeliveryAttempt)).one()
    assert attempt.outcome == "sent" and attempt.http_status == 200 and attempt.fbtrace_id
    assert sorted(e.id for e in attempt.events) == sorted(ids)
    assert TOKEN not in attempt.request_body and TOKEN not in attempt.request_url
    assert json.loads(attempt.request_body)["data"] == request["body"]["data"]


def test_batches_are_cut_at_the_destinations_batch_size_and_by_test_event_code(app, dispatcher, graph, monkeypatch):
    set_batch_size(monkeypatch, app, 2)
    add_events(3)
    add_events(2, test_event_code="TEST123")

    summary = dispatcher.run_once()

    assert summary.sent == 5
    sizes = sorted((len(r["body"]["data"]), r["body"].get("test_event_code", "")) for r in graph.requests)
    assert sizes == [(1, ""), (2, ""), (2, "TEST123")]


def test_a_server_error_is_retried_with_the_same_event_id_then_sent(dispatcher, graph):
    graph.fail_next = [(500, meta_error(2, "Service temporarily unavailable", transient=True))]
    (event_id,) = add_events(1)

    first = dispatcher.run_once()
    assert str(first) == "sent 0, retrying 1, failed 0"
    (row,) = rows()
    assert row.status == PENDING and row.attempts == 1 and "Service temporarily unavailable" in row.last_error
    assert row.claimed_by is None

    run_until_settled(dispatcher)

    (row,) = rows()
    assert row.status == SENT and row.attempts == 2 and row.last_error is None
    sent_ids = [e["event_id"] for e in graph.events()]
    assert len(sent_ids) == 2 and len(set(sent_ids)) == 1
    outcomes = [a.outcome for a in db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))]
    assert outcomes == ["transient", "sent"]


@pytest.mark.parametrize(
    "status, body, throttled",
    [
        (400, meta_error(4, "Application request limit reached", transient=True), True),
        (400, meta_error(17, "User request limit reached"), True),
        (400, meta_error(80004, "There have been too many calls to this ad account"), True),
        (400, meta_error(613, "Calls to this api have exceeded the rate limit"), True),
        (400, meta_error(341, "Application limit reached"), False),
        (503, {"nothing": "useful"}, False),
        (400, meta_error(999, "Something odd", transient=True), False),
    ],
)
def test_retryable_answers_are_retried(dispatcher, graph, status, body, throttled):
    graph.fail_next = [(status, body)]
    add_events(1)
    assert dispatcher.run_once().retrying == 1
    if throttled:
        # Meta's throttling codes: wait at least 5 minutes, whatever the (tiny) schedule of this test says.
        (row,) = rows()
        assert row.next_attempt_at - utcnow() > timedelta(seconds=295)
        db.session.execute(OutboxEvent.__table__.update().values(next_attempt_at=utcnow()))
        db.session.commit()
    run_until_settled(dispatcher)
    assert rows()[0].status == SENT


def test_a_bad_token_fails_at_once_with_metas_message(dispatcher, graph):
    message = "Error validating access token: Session has expired"
    graph.fail_next = [(400, meta_error(190, message))]
    add_events(2)

    summary = dispatcher.run_once()

    assert str(summary) == "sent 0, retrying 0, failed 2"
    assert len(graph.requests) == 1
    for row in rows():
        assert row.status == FAILED and row.attempts == 1
        assert message in row.last_error and "code 190" in row.last_error


def test_unknown_pixel_is_permanent(dispatcher, graph):
    graph.fail_next = [(400, meta_error(100, "Unsupported post request. Object does not exist", subcode=33))]
    add_events(1)
    assert dispatcher.run_once().failed == 1
    assert "code 100/33" in rows()[0].last_error


def test_one_poison_event_in_fifty_does_not_stop_the_others(dispatcher, graph):
    ids = add_events(50)
    poison = rows([ids[17]])[0].event_id
    graph.bad_event_ids = {poison}

    summary = dispatcher.run_once()

    assert str(summary) == "sent 49, retrying 0, failed 1"
    for row in rows():
        if row.event_id == poison:
            assert row.status == FAILED and "Unexpected key 'bogus'" in row.last_error and "2804019" in row.last_error
        else:
            assert row.status == SENT
    accepted = [e["event_id"] for r in graph.requests if r is not None for e in r["body"]["data"]]
    assert poison in accepted  # it was tried, and rejected
    # Bisection: a handful of requests, not one per event.
    assert len(graph.requests) <= 2 * 6 + 1
    outcomes = {a.outcome for a in db.session.scalars(select(DeliveryAttempt))}
    assert outcomes == {"split", "sent", "bad_event"}


def test_an_index_in_metas_message_isolates_the_bad_event_directly(dispatcher, graph):
    graph.name_index = True
    ids = add_events(20)
    poison = rows([ids[7]])[0].event_id
    graph.bad_event_ids = {poison}

    summary = dispatcher.run_once()

    assert summary.sent == 19 and summary.failed == 1
    assert len(graph.requests) == 3  # the batch, the culprit alone, the other 19


def test_network_errors_and_timeouts_are_retried(app, graph):
    with app.app_context():
        configure("http://127.0.0.1:9")  # nothing listens on the discard port
        worker = Dispatcher(app, worker="w")
        add_events(1)
        assert worker.run_once().retrying == 1
        (row,) = rows()
        assert row.status == PENDING and "connection error" in row.last_error and TOKEN not in row.last_error

        configure(graph.url)
        graph.latency = 1.5  # longer than the read timeout of 1 s
        db.session.execute(OutboxEvent.__table__.update().values(next_attempt_at=utcnow()))
        db.session.commit()
        assert worker.run_once().retrying == 1
        assert "read timeout" in rows()[0].last_error
        graph.latency = 0
        run_until_settled(worker)
        assert rows()[0].status == SENT
        worker.close()


def test_the_token_never_leaks_even_when_meta_echoes_it(dispatcher, graph):
    graph.fail_next = [(400, meta_error(190, f"Malformed access token {TOKEN}"))]
    add_events(1)
    dispatcher.run_once()
    (row,) = rows()
    attempt = db.session.scalars(select(DeliveryAttempt)).one()
    for text in (row.last_error, row.response_json, attempt.response_body, attempt.request_body, attempt.error):
        assert TOKEN not in text
    assert "EAAB…9x2Q" in row.last_error


def test_rows_leased_to_another_worker_are_left_alone_until_the_lease_expires(dispatcher, graph):
    ids = add_events(2)
    db.session.execute(
        OutboxEvent.__table__.update()
        .where(OutboxEvent.id == ids[0])
        .values(claimed_by="other", claimed_until=utcnow() + timedelta(minutes=5))
    )
    db.session.commit()

    assert dispatcher.run_once().sent == 1
    assert [r.status for r in rows()] == [PENDING, SENT]

    # The other worker died: once its lease runs out, the event is sent with its event_id.
    db.session.execute(
        OutboxEvent.__table__.update().where(OutboxEvent.id == ids[0]).values(claimed_until=utcnow() - timedelta(1))
    )
    db.session.commit()
    assert dispatcher.run_once().sent == 1
    assert [r.status for r in rows()] == [SENT, SENT]
    assert len({e["event_id"] for e in graph.events()}) == 2


def test_a_failed_event_is_requeued_with_the_same_event_id(dispatcher, graph):
    graph.fail_next = [(400, meta_error(190, "Invalid OAuth access token"))]
    add_events(1)
    dispatcher.run_once()
    (row,) = rows()
    assert row.status == FAILED
    event_id = row.event_id

    requeue(row)
    db.session.commit()
    assert dispatcher.run_once().sent == 1
    (row,) = rows()
    assert row.status == SENT and row.event_id == event_id
    assert [e["event_id"] for e in graph.events()] == [event_id, event_id]
    with pytest.raises(NotFailed):
        requeue(row)


def test_purge_empties_old_sent_events_and_drops_their_attempts(dispatcher, graph, make_order):
    order_id = make_order()
    old, recent = add_events(1), add_events(1)
    dispatcher.run_once()
    graph.fail_next = [(400, meta_error(190, "bad token"))]
    failed = add_events(1)
    dispatcher.run_once()
    pending = add_events(1)
    db.session.add(Decision(order_id=order_id, outcome="fired", reason="purge test", outbox_event_id=old[0]))
    db.session.execute(
        OutboxEvent.__table__.update()
        .where(OutboxEvent.id.in_(old + failed + pending))
        .values(created_at=utcnow() - timedelta(days=40), sent_at=None)
    )
    db.session.execute(
        OutboxEvent.__table__.update().where(OutboxEvent.id == old[0]).values(sent_at=utcnow() - timedelta(days=40))
    )
    db.session.commit()
    attempts_before = db.session.scalar(select(func.count()).select_from(DeliveryAttempt))

    assert purge_sent(30) == (1, 0)  # the old event shared its attempt with the recent one: it stays

    by_id = {r.id: r for r in rows()}
    purged = by_id[old[0]]
    assert purged.status == SENT and purged.payload_json == "{}" and purged.response_json is None
    assert purged.value == Decimal("12.30") and purged.event_id and purged.order_id is None
    assert purged.attempt_rows == []
    assert all(by_id[i].payload_json != "{}" for i in recent + failed + pending)
    assert db.session.scalar(select(func.count()).select_from(DeliveryAttempt)) == attempts_before
    assert db.session.scalars(select(Decision).filter_by(reason="purge test")).one().outbox_event_id == old[0]
    assert purge_sent(30) == (0, 0)  # already purged
    assert purge_sent(0) == (1, 1)  # the recent one, and now the attempt nobody shares
    assert [r.status for r in rows() if r.payload_json != "{}"] == [FAILED, PENDING]
