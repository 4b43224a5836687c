"""/healthz and /metrics: what a load balancer and Prometheus read, from a real delivery over HTTP."""

import logging
import shutil

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app import create_app
from delivery.dispatcher import Dispatcher, purge_sent
from delivery.models import DeliveryAttempt, OutboxEvent
from extensions import db
from shop.models import Order
from tests.conftest import stop_background_threads
from tests.pixelplus_support import change, use_sandbox


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Return every sample of a Prometheus text answer by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def deliver(app) -> None:
    with app.app_context():
        dispatcher = Dispatcher(app, worker="health-test-worker")
        try:
            dispatcher.run_once()
        finally:
            dispatcher.close()


@pytest.fixture
def refunded(app, live, make_order):
    """Three paid orders refunded with the module pointed at the embedded sandbox (not yet delivered)."""
    use_sandbox(app, live.url)
    order_ids = [make_order() for _ in range(3)]
    for order_id in order_ids:
        change(app, order_id, "PS_OS_REFUND")
    return order_ids


def test_healthz_is_public_and_reports_the_outbox_and_workers(app, client, refunded):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    meta = body["destinations"]["meta_capi"]
    assert meta["waiting"] == 3 and meta["failed"] == 0 and meta["breaker"] == "closed"
    assert meta["oldest_waiting_seconds"] >= 0
    assert body["workers_seen_last_minute"] == 0

    deliver(app)

    body = client.get("/healthz").get_json()
    assert body["destinations"]["meta_capi"]["waiting"] == 0
    assert body["destinations"]["meta_capi"]["oldest_waiting_at"] is None
    assert body["workers_seen_last_minute"] == 1
    assert body["workers"][0]["name"] == "health-test-worker" and body["workers"][0]["kind"] == "worker"


def test_healthz_answers_503_when_the_database_is_gone(tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'shop.sqlite'}"}
    )
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    stop_background_threads(app)  # a thread still writing its journal would race the folder's removal
    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(folder)  # SQLite cannot open a file in a folder that is gone

    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "down", "database": "unreachable"}
    assert answer.headers["Retry-After"] == "5"


def test_metrics_count_deliveries_attempts_and_latency(app, client, refunded):
    before = samples(client.get("/metrics").get_data(as_text=True))
    assert before[("shop_outbox_events", (("destination", "meta_capi"), ("status", "waiting")))] == 3

    deliver(app)

    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    after = samples(answer.get_data(as_text=True))
    meta = ("destination", "meta_capi")
    assert after[("shop_delivery_attempts_total", (meta, ("outcome", "sent")))] == 1  # one batch of three
    assert after[("shop_delivery_events_total", (meta, ("outcome", "sent")))] == 3
    assert after[("shop_delivery_duration_seconds_count", (meta,))] == 1
    assert after[("shop_delivery_duration_seconds_bucket", (meta, ("le", "+Inf")))] == 1
    assert after[("shop_delivery_duration_seconds_bucket", (meta, ("le", "10.0")))] == 1
    assert after[("shop_outbox_events", (meta, ("status", "waiting")))] == 0
    assert after[("shop_delivery_breaker_open", (meta,))] == 0
    assert after[("shop_delivery_workers_seen", ())] == 1


def test_metrics_do_not_go_down_when_old_attempts_are_purged(app, client, refunded):
    deliver(app)
    with app.app_context():
        assert db.session.scalar(select(DeliveryAttempt.id)) is not None
        purge_sent(days=0)
        db.session.commit()
        assert db.session.scalar(select(DeliveryAttempt.id)) is None
    after = samples(client.get("/metrics").get_data(as_text=True))
    assert after[("shop_delivery_events_total", (("destination", "meta_capi"), ("outcome", "sent")))] == 3


def test_metrics_token_when_configured(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-metrics"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"}).status_code == 200


def test_one_log_line_per_event_with_its_order_reference_and_event_id(app, refunded, caplog):
    with app.app_context():
        references = [db.session.get(Order, i).reference for i in refunded]
    with caplog.at_level(logging.INFO, logger="delivery.dispatcher"):
        deliver(app)
    # Only this shop's orders: a thread of another test's app may still be logging to the same logger.
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "delivery.dispatcher" and any(f" order={reference} " in r.getMessage() for reference in references)
    ]
    for reference in references:
        assert f"meta_capi sent order={reference} event_id=refund-{reference}-1 attempt=1" in lines
    assert len(lines) == 3
    with app.app_context():
        assert {e.status for e in db.session.scalars(select(OutboxEvent))} == {"sent"}
