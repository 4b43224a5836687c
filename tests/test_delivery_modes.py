"""Dispatch modes (inline, thread, worker) and the pixelplus commands, over real HTTP to the sandbox."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from core.dbtypes import utcnow
from delivery.models import PENDING, SENT, OutboxEvent
from delivery.worker import EXTENSION_KEY, dispatch_thread, stop_thread
from extensions import db
from shop.models import OrderState
from tests.conftest import wait_for
from tests.pixelplus_support import use_sandbox


@pytest.fixture
def dispatch_mode() -> str:
    return "worker"


@pytest.fixture
def app_config(app_config, dispatch_mode):
    app_config.update(PIXELPLUS_DISPATCH=dispatch_mode, PIXELPLUS_POLL_SECONDS=0.1, DELIVERY_RETRY_SCHEDULE=[0.01])
    return app_config


@pytest.fixture
def enabled(app, live):
    use_sandbox(app, live.url)
    yield live
    stop_thread(app)


def refund(api, app, order_id):
    with app.app_context():
        state_id = OrderState.by_key("PS_OS_REFUND").id
    response = api.post(f"/api/orders/{order_id}/status", {"state_id": state_id}, role="admin")
    assert response.status_code == 200, response.get_data(as_text=True)


def rows(app) -> list[OutboxEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
        db.session.expunge_all()
        return found


@pytest.mark.parametrize("dispatch_mode", ["inline"])
def test_inline_mode_sends_right_after_the_commit(app, api, enabled, make_order):
    refund(api, app, make_order("PS_OS_PAYMENT"))

    (row,) = rows(app)
    assert row.status == SENT and row.attempts == 1  # already, without waiting


def test_worker_mode_leaves_sending_to_the_dispatch_command(app, api, enabled, make_order):
    refund(api, app, make_order("PS_OS_PAYMENT"))
    refund(api, app, make_order("PS_OS_PAYMENT"))

    assert [r.status for r in rows(app)] == [PENDING, PENDING]
    assert EXTENSION_KEY not in app.extensions  # no thread in this mode
    result = app.test_cli_runner().invoke(args=["pixelplus", "dispatch"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent 2, retrying 0, failed 0"
    assert [r.status for r in rows(app)] == [SENT, SENT]
    result = app.test_cli_runner().invoke(args=["pixelplus", "dispatch"])
    assert result.output.strip() == "sent 0, retrying 0, failed 0"


@pytest.mark.parametrize("dispatch_mode", ["thread"])
def test_thread_mode_wakes_on_commit_and_stops_cleanly(app, api, enabled, make_order):
    refund(api, app, make_order("PS_OS_PAYMENT"))

    wait_for(lambda: [r for r in rows(app) if r.status == SENT], message="the thread to send")
    runner = dispatch_thread(app)
    assert runner.running
    stop_thread(app)
    assert not runner.running
    runner.wake()  # a stopped thread is not restarted
    assert not runner.running


@pytest.mark.parametrize("dispatch_mode", ["thread"])
def test_thread_mode_picks_up_retries_without_a_new_commit(app, api, enabled, make_order):
    assert api.put("/sandbox/api/faults", {"error": "server", "count": 1}, role="tester").status_code == 200
    refund(api, app, make_order("PS_OS_PAYMENT"))

    (row,) = wait_for(lambda: [r for r in rows(app) if r.status == SENT], message="the retry")
    assert row.attempts == 2


def test_purge_command_keeps_what_was_reported_so_nothing_counts_twice(app, api, enabled, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    refund(api, app, order_id)
    app.test_cli_runner().invoke(args=["pixelplus", "dispatch"])
    with app.app_context():
        db.session.execute(OutboxEvent.__table__.update().values(sent_at=utcnow() - timedelta(days=100)))
        db.session.commit()
    refund(api, app, make_order("PS_OS_PAYMENT"))  # pending: never purged

    result = app.test_cli_runner().invoke(args=["pixelplus", "purge", "--days", "90"])

    assert result.exit_code == 0, result.output
    assert "purged 1 sent event(s) older than 90 day(s) and 1 attempt(s)" in result.output
    purged, pending = rows(app)
    assert (purged.status, purged.payload_json, purged.order_id) == (SENT, "{}", order_id)
    assert pending.status == PENDING and pending.payload["event_name"] == "Refund"
    # The order moves on to Canceled: its refund was already reported, purge or not, so no new event.
    with app.app_context():
        canceled = OrderState.by_key("PS_OS_CANCELED").id
    assert api.post(f"/api/orders/{order_id}/status", {"state_id": canceled}, role="admin").status_code == 200
    assert len(rows(app)) == 2
    result = app.test_cli_runner().invoke(args=["pixelplus", "purge", "--days", "-1"])
    assert result.exit_code != 0


def test_an_unknown_dispatch_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="PIXELPLUS_DISPATCH"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}", "PIXELPLUS_DISPATCH": "later"})
