"""A long outage of the destination's host: nothing fails, one probe at a time, and a fast drain after it.

The sandbox is served by a real loopback server that is stopped (connections refused) and started again
on the same port; the dispatcher reads a clock the test moves, so hours of outage take a few seconds.
"""

import pytest
from sqlalchemy import select

from delivery.models import SENT, DeliveryAttempt, OutboxEvent
from extensions import db
from sandbox.models import ReceivedEvent
from tests.delivery_support import RestartableServer, outage_then_drain
from tests.pixelplus_support import use_sandbox


@pytest.fixture
def app_config(app_config):
    app_config.update(PIXELPLUS_CONNECT_TIMEOUT=0.5, PIXELPLUS_READ_TIMEOUT=2.0)
    return app_config


@pytest.fixture
def sandbox_server(app):
    server = RestartableServer(app).start()
    use_sandbox(app, server.url)
    yield server
    server.stop()


def test_two_hours_down_with_200_events_queued_fails_nothing_and_drains_within_30_seconds(app, sandbox_server):
    # The old dispatcher gave up after 8 attempts (about 21 minutes at most); this outage is 2 hours.
    figures = outage_then_drain(app, sandbox_server, count=200, outage_seconds=2 * 3600)

    assert figures["failed_during_outage"] == 0 and figures["pending_after_outage"] == 200
    # While the host was down, one probe at a time: about one request per 30 s of outage, not 200.
    assert figures["requests_during_outage"] <= 2 * 3600 / 30 + 5
    assert figures["sent"] == 200 and figures["failed"] == 0
    # The promise: all 200 out within 30 s of the sandbox answering again, in real time ...
    assert figures["drain_s"] < 30, figures
    # ... and on the moving clock (the next probe is at most 30 s away).
    assert figures["drain_clock_s"] <= 30, figures
    with app.app_context():
        received = db.session.scalars(select(ReceivedEvent)).all()
        sent_ids = {row.event_id for row in db.session.scalars(select(OutboxEvent))}
        assert {r.event_id for r in received if not r.deduplicated} == sent_ids
        assert all(row.status == SENT for row in db.session.scalars(select(OutboxEvent)))
        # The backlog left in batches, not one request per event.
        sent_attempts = db.session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.outcome == "sent")).all()
        assert len(sent_attempts) <= 3
