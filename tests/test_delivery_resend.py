"""Resend races: parallel clicks on one failed event send it once more, never twice; a sent event stays sent."""

import threading

import pytest
import requests
from sqlalchemy import select

from core.dbtypes import utcnow
from delivery.dispatcher import Dispatcher
from delivery.models import PENDING, SENT, DeliveryAttempt, OutboxEvent
from extensions import db
from tests.delivery_support import add_events, configure, meta_error


@pytest.fixture
def failed_event(app, graph) -> int:
    """One event that failed for good (a bad token)."""
    with app.app_context():
        configure(graph.url)
        graph.fail_next = [(400, meta_error(190, "Invalid OAuth access token"))]
        (event_id,) = add_events(1)
        dispatcher = Dispatcher(app, worker="resend")
        assert dispatcher.run_once().failed == 1
        dispatcher.close()
    graph.requests.clear()
    return event_id


def parallel_posts(urls: list[str], headers: dict) -> list[requests.Response]:
    """POST every url at the same moment from its own thread, over real HTTP."""
    start = threading.Barrier(len(urls))
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def post(url: str) -> None:
        start.wait()
        answer = requests.post(url, headers=headers, timeout=30)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=post, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_four_parallel_resends_send_the_event_exactly_once_more(app, live, staff, graph, failed_event):
    url = f"{live.url}/api/events/{failed_event}/resend"

    answers = parallel_posts([url] * 4, staff.headers("merchant"))

    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    for conflict in (a for a in answers if a.status_code == 409):
        assert "already queued" in conflict.json()["error"]["message"]
    with app.app_context():
        dispatcher = Dispatcher(app, worker="resend")
        assert dispatcher.run_once().sent == 1
        assert dispatcher.run_once().requests == 0
        dispatcher.close()
        row = db.session.get(OutboxEvent, failed_event)
        assert row.status == SENT
        sent_ids = [e["event_id"] for e in graph.events()]
        assert sent_ids == [row.event_id]  # one more send, with the same event_id


def test_parallel_resend_clicks_in_the_back_office_queue_it_once(app, live, staff, graph, failed_event):
    sessions = []
    for _ in range(4):
        session = requests.Session()
        session.post(f"{live.url}/admin/login", data={"email": staff.email("merchant"), "password": _password()})
        sessions.append(session)
    start = threading.Barrier(4)
    pages: list[str] = []

    def click(session) -> None:
        start.wait()
        page = session.post(f"{live.url}/admin/events/{failed_event}/resend", timeout=30)
        pages.append(page.text)

    threads = [threading.Thread(target=click, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum("is queued again with the same event_id" in page for page in pages) == 1
    assert sum("already queued" in page for page in pages) == 3
    with app.app_context():
        assert db.session.get(OutboxEvent, failed_event).status == PENDING


def _password() -> str:
    from tests.conftest import PASSWORD

    return PASSWORD


def test_a_sent_event_cannot_be_resent_to_pending(app, api, graph):
    with app.app_context():
        configure(graph.url)
        (event_id,) = add_events(1)
        dispatcher = Dispatcher(app, worker="resend")
        assert dispatcher.run_once().sent == 1
        dispatcher.close()

    answer = api.post(f"/api/events/{event_id}/resend", role="merchant")

    assert answer.status_code == 409
    assert "is sent: only a failed event can be resent" in answer.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.get(OutboxEvent, event_id).status == SENT
    assert len(graph.requests) == 1


def test_a_late_failure_never_turns_a_sent_event_back(app, graph):
    """A worker whose lease expired reports a failure after another worker sent the event: it stays sent."""
    with app.app_context():
        configure(graph.url)
        (event_id,) = add_events(1)
        slow = Dispatcher(app, worker="slow")
        batch = slow.claim()
        # The lease runs out; another worker sends the event meanwhile.
        db.session.execute(OutboxEvent.__table__.update().values(claimed_until=utcnow()))
        db.session.commit()
        fast = Dispatcher(app, worker="fast")
        assert fast.run_once().sent == 1
        # Now the slow worker's request fails, permanently.
        graph.fail_next = [(400, meta_error(190, "Invalid OAuth access token"))]
        summary = slow.deliver(batch)
        slow.close()
        fast.close()
        assert summary.failed == 0
        row = db.session.get(OutboxEvent, event_id)
        assert row.status == SENT and row.last_error is None
        outcomes = sorted(a.outcome for a in db.session.scalars(select(DeliveryAttempt)))
        assert outcomes == ["permanent", "sent"]


def test_only_failed_events_resend_and_an_unknown_one_is_404(app, api, graph):
    with app.app_context():
        configure(graph.url)
        (pending,) = add_events(1)
    assert api.post(f"/api/events/{pending}/resend", role="merchant").status_code == 409
    assert api.post("/api/events/987654/resend", role="merchant").status_code == 404
    assert api.post(f"/api/events/{pending}/resend", role="tester").status_code == 403
    with app.app_context():
        assert db.session.get(OutboxEvent, pending).status == PENDING
