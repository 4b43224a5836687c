"""Delivery end to end over real HTTP: the back office, the dispatcher and the embedded Meta sandbox."""

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from core.dbtypes import utcnow
from delivery.dispatcher import Dispatcher, Summary
from delivery.models import FAILED, PENDING, SENT, DeliveryAttempt, OutboxEvent
from delivery.worker import stop_thread
from extensions import db
from shop.models import OrderState
from tests.conftest import wait_for
from tests.delivery_support import queue, sandbox_event, set_batch_size
from tests.pixelplus_support import use_sandbox

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dispatch_mode() -> str:
    """The app's PIXELPLUS_DISPATCH; a test parametrizes it to change it."""
    return "thread"


@pytest.fixture
def read_timeout() -> float:
    """The app's PIXELPLUS_READ_TIMEOUT; a test parametrizes it to change it."""
    return 3.0


@pytest.fixture
def app_config(app_config, dispatch_mode, read_timeout):
    app_config.update(
        PIXELPLUS_DISPATCH=dispatch_mode,
        DELIVERY_RETRY_SCHEDULE=[0.01, 0.05],
        PIXELPLUS_POLL_SECONDS=0.2,
        PIXELPLUS_READ_TIMEOUT=read_timeout,
    )
    return app_config


@pytest.fixture
def shop(app, live, staff):
    """The module enabled against the live sandbox; the dispatch thread stopped after the test."""
    use_sandbox(app, live.url)
    session = requests.Session()
    session.headers.update(staff.headers("superadmin"))
    shop = type("Shop", (), {"url": live.url, "http": session, "app": app, "pixel": app.config["DEMO_PIXEL_ID"]})
    shop.http.delete(f"{live.url}/sandbox/api/received").raise_for_status()
    yield shop
    shop.http.delete(f"{live.url}/sandbox/api/faults")
    stop_thread(app)


def refund(shop, order_id: int) -> requests.Response:
    """Set an order to Refunded through the JSON API, over HTTP."""
    with shop.app.app_context():
        state_id = OrderState.by_key("PS_OS_REFUND").id
    response = shop.http.post(f"{shop.url}/api/orders/{order_id}/status", json={"state_id": state_id}, timeout=10)
    assert response.status_code == 200, response.text
    return response


def received(shop) -> list[dict]:
    response = shop.http.get(f"{shop.url}/sandbox/api/received", params={"pixel_id": shop.pixel}, timeout=10)
    response.raise_for_status()
    return response.json()


def set_faults(shop, **faults) -> None:
    response = shop.http.put(f"{shop.url}/sandbox/api/faults", json=faults, timeout=10)
    assert response.status_code == 200, response.text


def outbox(app, **filters) -> list[OutboxEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxEvent).filter_by(**filters).order_by(OutboxEvent.id)))
        db.session.expunge_all()
        return rows


def settled(app, count: int = 1):
    """Return the outbox rows once count exist and none is pending (for wait_for)."""
    rows = outbox(app)
    return rows if len(rows) >= count and all(r.status != PENDING for r in rows) else None


def test_a_refund_reaches_the_sandbox_once_with_the_stored_payload(shop, make_order):
    order_id = make_order("PS_OS_PAYMENT")

    refund(shop, order_id)

    (row,) = wait_for(lambda: settled(shop.app), message="the event to be sent")
    assert row.status == SENT and row.attempts == 1 and row.order_id == order_id
    (got,) = received(shop)
    assert got["deduplicated"] is False
    assert got["event"] == json.loads(row.payload_json)
    assert got["event"]["event_id"] == row.event_id
    assert row.response["events_received"] == 1 and row.response["fbtrace_id"]


def test_server_errors_are_retried_and_the_event_delivered_once(shop, make_order):
    set_faults(shop, error="server", count=2)
    order_id = make_order("PS_OS_PAYMENT")

    refund(shop, order_id)

    (row,) = wait_for(lambda: settled(shop.app), message="the event to be retried and sent")
    assert row.status == SENT and row.attempts == 3
    got = received(shop)
    assert [g["event"]["event_id"] for g in got] == [row.event_id]
    assert got[0]["deduplicated"] is False
    with shop.app.app_context():
        outcomes = [a.outcome for a in db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))]
    assert outcomes == ["transient", "transient", "sent"]


@pytest.mark.parametrize(
    "kind, code", [("app_limit", 4), ("user_limit", 17), ("business_limit", 80004), ("rate_limit", 613)]
)
def test_a_throttled_send_waits_and_stays_pending(shop, make_order, kind, code):
    # Meta's throttling answers (is_transient: true, with usage headers): the dispatcher keeps the event
    # and backs off for minutes instead of hammering a throttled app.
    set_faults(shop, error=kind, count=1)
    started = utcnow()
    refund(shop, make_order("PS_OS_PAYMENT"))

    def throttled():
        rows = outbox(shop.app)
        return rows if rows and rows[0].attempts == 1 else None

    (row,) = wait_for(throttled, message="the throttled answer to be recorded")
    assert row.status == PENDING and row.next_attempt_at >= started + timedelta(minutes=4)
    assert f'"code": {code}' in row.response_json and '"is_transient": true' in row.response_json
    assert received(shop) == [], "a throttled request delivers nothing"


@pytest.mark.parametrize("read_timeout", [0.3])
def test_a_timed_out_send_is_resent_with_the_same_event_id_and_deduplicated(shop, make_order):
    # The sandbox holds the first request past our read timeout, then accepts it anyway: Meta got the
    # event although we gave up, so the retry must carry the same event_id and be deduplicated.
    set_faults(shop, error="timeout", count=1, hang_ms=800)
    order_id = make_order("PS_OS_PAYMENT")

    refund(shop, order_id)

    (row,) = wait_for(lambda: settled(shop.app), message="the event to be sent after a timeout")
    assert row.status == SENT and row.attempts == 2
    got = wait_for(lambda: (lambda g: g if len(g) == 2 else None)(received(shop)), message="both arrivals")
    assert {g["event"]["event_id"] for g in got} == {row.event_id}
    assert sorted(g["deduplicated"] for g in got) == [False, True]


def test_a_bad_token_fails_at_once_with_metas_190_message(shop, make_order, auth, client):
    use_sandbox(shop.app, shop.url, access_token="EAABwrongTokenWrongTokenWrong1234")
    order_id = make_order("PS_OS_PAYMENT")

    refund(shop, order_id)

    (row,) = wait_for(lambda: settled(shop.app), message="the event to fail")
    assert row.status == FAILED and row.attempts == 1
    assert "Invalid OAuth access token" in row.last_error and "code 190" in row.last_error
    assert received(shop) == []
    auth.login("tester")
    page = client.get(f"/admin/events/{row.id}").get_data(as_text=True)
    assert "Invalid OAuth access token" in page and "code 190" in page
    assert "EAABwrongTokenWrongTokenWrong1234" not in page


@pytest.mark.parametrize("dispatch_mode", ["worker"])
def test_one_poison_event_in_a_batch_of_fifty_does_not_stop_the_other_49(shop, app):
    events = [sandbox_event(n, bogus=(n == 31)) for n in range(50)]
    queue(app, events)

    with app.app_context():
        dispatcher = Dispatcher(app)
        summary = dispatcher.run_once()
        dispatcher.close()

    assert str(summary) == "sent 49, retrying 0, failed 1"
    rows = outbox(app)
    bad = [r for r in rows if r.status == FAILED]
    assert [r.event_id for r in bad] == [events[31]["event_id"]]
    assert 'Unexpected key "bogus"' in bad[0].last_error and "2804019" in bad[0].last_error
    got = received(shop)
    assert sorted(g["event"]["event_id"] for g in got) == sorted(e["event_id"] for n, e in enumerate(events) if n != 31)
    assert not any(g["deduplicated"] for g in got)


def test_the_status_change_answers_before_the_slow_send(shop, make_order):
    set_faults(shop, latency_ms=2000)
    order_id = make_order("PS_OS_PAYMENT")

    refund(shop, order_id)

    # Had the request waited for Meta's slow answer, the row would be sent by now (a timing bound would be a
    # speed guess on a loaded machine; the row's state is the proof).
    (row,) = outbox(shop.app)
    assert row.status == PENDING, "the back office waited for Meta"
    (row,) = wait_for(lambda: settled(shop.app), timeout=30, message="the slow send")
    assert row.status == SENT and row.attempts == 1


@pytest.mark.parametrize("dispatch_mode", ["worker"])
def test_two_dispatchers_deliver_a_thousand_events_none_twice(shop, app, monkeypatch):
    set_batch_size(monkeypatch, app, 50)  # many batches, so the two compete for each
    events = [sandbox_event(n) for n in range(1000)]
    queue(app, events)
    results: list[Summary] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(name: str):
        try:
            with app.app_context():
                dispatcher = Dispatcher(app, worker=name)
                start.wait()
                results.append(dispatcher.run_once())
                dispatcher.close()
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(f"dispatcher-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors

    assert sum(r.sent for r in results) == 1000
    rows = outbox(app)
    assert all(r.status == SENT and r.attempts == 1 for r in rows)
    got = received(shop)
    assert len(got) == 1000
    assert len({g["event"]["event_id"] for g in got}) == 1000
    assert not any(g["deduplicated"] for g in got)
    with app.app_context():
        workers = set(db.session.scalars(select(DeliveryAttempt.worker)))
        assert db.session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 20
    assert workers <= {"dispatcher-0", "dispatcher-1"}


def worker_process(app, extra_env: dict) -> subprocess.Popen:
    """Start `flask pixelplus worker` on the test database, in its own process."""
    env = {
        **os.environ,
        "FLASK_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "FLASK_SECRET_KEY": "worker-test",
        "FLASK_PIXELPLUS_DISPATCH": "worker",
        "FLASK_SANDBOX_ENABLED": "false",
        "FLASK_PIXELPLUS_LEASE_SECONDS": "1",
        "FLASK_DELIVERY_RETRY_SCHEDULE": "0.01",
        "FLASK_DELIVERY_ALLOWED_HOSTS": "127.0.0.1",
        "FLASK_PIXELPLUS_WORKER_POLL_SECONDS": "0.1",
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "pixelplus", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("dispatch_mode", ["worker"])
def test_killing_the_worker_mid_batch_loses_nothing(shop, app):
    events = [sandbox_event(n) for n in range(30)]
    ids = queue(app, events)
    set_faults(shop, latency_ms=1500)

    first = worker_process(app, {})
    try:
        # Mid-batch: the rows are leased and the request is in flight at the sandbox.
        wait_for(lambda: all(r.claimed_by for r in outbox(app)), timeout=20, message="the worker to claim the batch")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert all(r.status == PENDING for r in outbox(app))

    set_faults(shop)  # no latency
    second = worker_process(app, {})
    try:
        rows = wait_for(lambda: settled(app, len(ids)), timeout=30, message="the restarted worker to deliver")
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=15)
    assert second.returncode == 0, err
    assert "worker stopped: sent 30" in out
    assert all(r.status == SENT for r in rows)
    got = received(shop)
    by_id: dict[str, list[bool]] = {}
    for g in got:
        by_id.setdefault(g["event"]["event_id"], []).append(g["deduplicated"])
    assert set(by_id) == {e["event_id"] for e in events}
    # Sent twice at most, and then only as the same event_id, which Meta discards.
    assert all(flags.count(False) == 1 for flags in by_id.values())


def test_the_token_appears_nowhere(shop, app, make_order, auth, client):
    token = app.config["DEMO_ACCESS_TOKEN"]
    set_faults(shop, error="transient", count=1)
    refund(shop, make_order("PS_OS_PAYMENT"))
    wait_for(lambda: settled(app), message="the first event")
    use_sandbox(app, shop.url, access_token=token + "X")  # Meta answers 190
    refund(shop, make_order("PS_OS_PAYMENT"))
    rows = wait_for(lambda: settled(app, 2), message="the second event")
    assert sorted(r.status for r in rows) == [FAILED, SENT]

    texts = []
    with app.app_context():
        for row in db.session.scalars(select(OutboxEvent)):
            texts += [row.payload_json, row.last_error, row.response_json]
        for attempt in db.session.scalars(select(DeliveryAttempt)):
            texts += [attempt.request_url, attempt.request_body, attempt.response_body, attempt.error]
            texts += [attempt.request_headers, attempt.response_headers]
            assert dict(attempt.sent_headers)["Content-Type"]  # the headers are recorded, the token is not
    auth.login("superadmin")
    pages = ["/admin/events", "/admin/decisions", "/admin/events/export.csv"]
    pages += ["/admin/events/export.json"] + [f"/admin/events/{r.id}" for r in rows]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        texts.append(response.get_data(as_text=True))
    texts.append(shop.http.get(f"{shop.url}/api/pixelplus/events").text)
    assert any("Invalid OAuth access token" in (t or "") for t in texts)
    for text in texts:
        assert token not in (text or "")
        assert (token + "X") not in (text or "")


def test_a_change_rolled_back_sends_nothing(app, shop, make_order):
    from shop.models import Order
    from shop.status import change_state

    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        order = db.session.get(Order, order_id)
        change_state(order, OrderState.by_key("PS_OS_REFUND"))
        assert db.session.info.get("delivery_wake")
        db.session.rollback()
        assert "delivery_wake" not in db.session.info
    assert outbox(app) == []
