"""Bulk refunds: N paid orders bulk-changed to Refunded, then delivered to the sandbox over real HTTP.

The orders are placed in one transaction, then `change_states` refunds them all at once (as the bulk
action does). One dispatcher drains the outbox against the embedded sandbox served on a loopback port;
the figures are the time until every event is acknowledged, the number of HTTP requests used (the
DeliveryAttempt rows, checked against the sandbox's received events), and the ratio against sending one
event per request, measured on a subset of SUBSET orders and extrapolated to N (the row says so).
N is 2,000 by default, 10,000 with `--full` (BENCH_FULL=1) or BENCH_BULK_ORDERS.
"""

import logging
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from app import create_app
from delivery.dispatcher import Dispatcher
from delivery.models import PENDING, SENT, DeliveryAttempt, OutboxEvent
from delivery.worker import stop_thread
from extensions import db
from sandbox.models import ReceivedEvent
from shop.models import OrderState
from shop.status import change_states
from tests.bench.bench_delivery import _setup
from tests.conftest import LiveServer
from tests.delivery_support import batch_size_of

SUBSET = 200


def _refund(app, order_ids: list[int]) -> float:
    """Bulk-change the orders to Refunded in one transaction; return the seconds it took."""
    with app.app_context():
        started = time.perf_counter()
        result = change_states(order_ids, OrderState.by_key("PS_OS_REFUND"))
        db.session.commit()
        elapsed = time.perf_counter() - started
        if len(result.changed) != len(order_ids):
            raise RuntimeError(f"the bulk change skipped orders: {result.skipped[:5]}")
        return elapsed


def _deliver(app) -> tuple[float, int]:
    """Drain the outbox with one dispatcher; return the seconds until all were sent and the requests used."""
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(DeliveryAttempt))
        dispatcher = Dispatcher(app, worker="bench")
        started = time.perf_counter()
        dispatcher.run_once()
        elapsed = time.perf_counter() - started
        dispatcher.close()
        pending = db.session.scalar(select(func.count()).select_from(OutboxEvent).filter_by(status=PENDING))
        if pending:
            raise RuntimeError(f"{pending} events were still pending after the drain")
        after = db.session.scalar(select(func.count()).select_from(DeliveryAttempt))
        return elapsed, after - before


def run() -> dict:
    """Refund N orders in bulk, deliver them, compare with one event per request."""
    full = os.environ.get("BENCH_FULL") == "1"
    orders = int(os.environ.get("BENCH_BULK_ORDERS", "10000" if full else "2000"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        uri = os.environ.get("FLASK_TEST_DATABASE_URI") or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": uri,
                "PIXELPLUS_DISPATCH": "worker",
                "DELIVERY_ALLOWED_HOSTS": ["127.0.0.1"],
            }
        )
        try:
            with LiveServer(app) as live:
                started = time.perf_counter()
                _key, order_ids = _setup(app, f"{live.url}/sandbox/graph", orders + SUBSET)
                placed = time.perf_counter() - started
                bulk_s = _refund(app, order_ids[:orders])
                batched_s, requests_used = _deliver(app)
                with batch_size_of(app, 1):
                    _refund(app, order_ids[orders:])
                    single_s, single_requests = _deliver(app)
                with app.app_context():
                    sent = db.session.scalar(select(func.count()).select_from(OutboxEvent).filter_by(status=SENT))
                    received = db.session.scalar(
                        select(func.count(func.distinct(ReceivedEvent.event_id))).select_from(ReceivedEvent)
                    )
                if sent != orders + SUBSET or received != orders + SUBSET:
                    raise RuntimeError(f"expected {orders + SUBSET} events, sent {sent}, received {received}")
                extrapolated = single_s / SUBSET * orders
                return {
                    "orders": orders,
                    "orders_placed_s": round(placed, 2),
                    "bulk_change_to_refunded_s": round(bulk_s, 2),
                    "all_acknowledged_s": round(batched_s, 2),
                    "http_requests": requests_used,
                    "target_at_most_orders_over_1000": "PASS" if requests_used <= -(-orders // 1000) else "MISS",
                    f"one_per_request_{SUBSET}_events_s": round(single_s, 2),
                    f"one_per_request_{SUBSET}_events_requests": single_requests,
                    "one_per_request_extrapolated_to_orders_s": round(extrapolated, 1),
                    "ratio_one_per_request_vs_batched": round(extrapolated / batched_s, 1),
                }
        finally:
            stop_thread(app)
            with app.app_context():
                db.session.remove()
                if os.environ.get("FLASK_TEST_DATABASE_URI"):
                    db.drop_all()
                db.engine.dispose()
