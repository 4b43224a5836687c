"""What delivery costs the back office, and how fast the dispatcher drains the outbox.

1. A refund status change over real HTTP (JSON API) with the dispatcher in `thread` mode, against the
   embedded sandbox answering at once and then taking 1 s per request (fault latency): the change must
   answer as fast either way, since the send happens after the commit in another thread. A baseline,
   connected only here, does what the imitated modules do: it sends the event with `GraphClient` inside
   the request, with the module disabled, against the same 1 s sandbox. Targets: ours slow/instant
   median within 1.2, and the baseline at least 10x slower than ours with a slow Meta.
2. 1,000 queued events delivered by one dispatcher (one request), then by two dispatchers at once with
   batches of 100 (twenty requests shared between them), each event_id received once.
BENCH_DELIVERY_CHANGES sets the number of status changes per series (default 20).
"""

import logging
import os
import statistics
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import requests
from sqlalchemy import select

from app import DEMO_ACCESS_TOKEN, DEMO_PIXEL_ID, create_app
from delivery.dispatcher import Dispatcher
from delivery.models import PENDING, SENT, OutboxEvent
from delivery.worker import stop_thread
from extensions import db
from pixelplus.graph import GraphClient
from pixelplus.settings import save_settings
from shop.cli import create_employee
from shop.models import Customer, OrderState, Product
from shop.orders import CartLine, place_order
from shop.signals import order_status_changed
from shop.states import install_default_states
from tests.conftest import GRAPH_VERSION, LiveServer
from tests.delivery_support import batch_size_of, queue, sandbox_event


def _setup(app, graph_url: str, orders: int) -> tuple[str, list[int]]:
    """Create the states, an admin, the module's settings and paid orders; return the API key and order ids."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        install_default_states()
        _employee, key = create_employee("bench@shop.test", "superadmin", "bench-password-123")
        product = Product(
            reference="TSHIRT-01", name="T-shirt", price_tax_excl=Decimal("19.90"), tax_rate=Decimal("20")
        )
        customer = Customer(
            email="jeanne.martin@example.fr",
            firstname="Jeanne",
            lastname="Martin",
            phone="06 12 34 56 78",
            city="Lyon",
            state="",
            postcode="69001",
            country="FR",
        )
        db.session.add_all([product, customer])
        db.session.commit()
        save_settings(
            {
                "enabled": True,
                "pixel_id": DEMO_PIXEL_ID,
                "access_token": DEMO_ACCESS_TOKEN,
                "graph_url": graph_url,
                "api_version": GRAPH_VERSION,
            }
        )
        paid = OrderState.by_key("PS_OS_PAYMENT")
        ids = [place_order(customer, [CartLine(product, 1)], paid, currency="EUR").id for _ in range(orders)]
        db.session.commit()
        return key, ids


def _status_changes(app, url: str, key: str, order_ids: list[int], latency_ms: int) -> tuple[list[float], float]:
    """Refund each order over HTTP; return the answer times and the seconds until all were sent."""
    headers = {"Authorization": f"Bearer {key}"}
    with app.app_context():
        refunded = OrderState.by_key("PS_OS_REFUND").id
    with requests.Session() as http:
        http.headers.update(headers)
        http.put(f"{url}/sandbox/api/faults", json={"latency_ms": latency_ms} if latency_ms else {}, timeout=10)
        started = time.perf_counter()
        times = []
        for order_id in order_ids:
            began = time.perf_counter()
            response = http.post(f"{url}/api/orders/{order_id}/status", json={"state_id": refunded}, timeout=30)
            times.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise RuntimeError(f"status change refused: {response.status_code} {response.text[:200]}")
        _wait_until_sent(app, len(order_ids), timeout=60)
        http.put(f"{url}/sandbox/api/faults", json={}, timeout=10)
    return times, time.perf_counter() - started


def _baseline_changes(app, url: str, key: str, order_ids: list[int], latency_ms: int, folder: str) -> list[float]:
    """Refund each order over HTTP with the module off and a receiver sending inside the request.

    The baseline's sandbox is a second app on its own SQLite file: the shop's request holds its write
    transaction while it sends, and a sandbox sharing that file could not store what it received.
    """
    sandbox_app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'baseline-sandbox.sqlite'}",
            "PIXELPLUS_DISPATCH": "worker",
            "DELIVERY_ALLOWED_HOSTS": ["127.0.0.1"],
        }
    )
    with sandbox_app.app_context():
        _employee, sandbox_key = create_employee("tester@shop.test", "superadmin", "bench-password-123")
    with LiveServer(sandbox_app) as sandbox:
        try:
            faults = {"latency_ms": latency_ms} if latency_ms else {}
            answer = requests.put(
                f"{sandbox.url}/sandbox/api/faults",
                json=faults,
                headers={"Authorization": f"Bearer {sandbox_key}"},
                timeout=10,
            )
            answer.raise_for_status()
            return _baseline_series(app, url, sandbox.url, key, order_ids)
        finally:
            with sandbox_app.app_context():
                db.session.remove()
                db.engine.dispose()


def _baseline_series(app, url: str, sandbox_url: str, key: str, order_ids: list[int]) -> list[float]:
    client = GraphClient(allowed_hosts=["127.0.0.1"])  # the sandbox on loopback
    sent: list[bool] = []

    def send_now(order, new_state=None, **extra) -> None:
        if new_state is None or new_state.key != "PS_OS_REFUND":
            return
        answer = client.post_events(
            f"{sandbox_url}/sandbox/graph",
            GRAPH_VERSION,
            DEMO_PIXEL_ID,
            DEMO_ACCESS_TOKEN,
            [sandbox_event(order.id)],
            None,
        )
        sent.append(answer.ok)

    with app.app_context():
        save_settings({"enabled": False})
        db.session.commit()
    order_status_changed.connect(send_now, weak=False)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with app.app_context():
            refunded = OrderState.by_key("PS_OS_REFUND").id
        with requests.Session() as http:
            http.headers.update(headers)
            times = []
            for order_id in order_ids:
                began = time.perf_counter()
                response = http.post(f"{url}/api/orders/{order_id}/status", json={"state_id": refunded}, timeout=30)
                times.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise RuntimeError(f"status change refused: {response.status_code} {response.text[:200]}")
    finally:
        order_status_changed.disconnect(send_now)
        client.close()
        with app.app_context():
            save_settings({"enabled": True})
            db.session.commit()
    if len(sent) != len(order_ids) or not all(sent):
        raise RuntimeError(f"the baseline did not send every event: {sent}")
    return times


def _wait_until_sent(app, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            statuses = list(db.session.scalars(select(OutboxEvent.status)))
        if statuses.count(SENT) >= expected and PENDING not in statuses:
            return
        time.sleep(0.05)
    raise RuntimeError("the events were not all sent in time")


def _drain(app, dispatchers: int) -> float:
    """Deliver everything queued with that many dispatchers at once; return the seconds it took."""
    barrier = threading.Barrier(dispatchers + 1)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with app.app_context():
                dispatcher = Dispatcher(app, worker=name)
                barrier.wait()
                dispatcher.run_once()
                dispatcher.close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"bench-{i}",)) for i in range(dispatchers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def run() -> dict:
    """Run both parts and return the figures."""
    changes = int(os.environ.get("BENCH_DELIVERY_CHANGES", "20"))
    server_log = logging.getLogger("werkzeug")
    level = server_log.level
    server_log.setLevel(logging.WARNING)
    figures: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        uri = os.environ.get("FLASK_TEST_DATABASE_URI") or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": uri,
                "PIXELPLUS_DISPATCH": "thread",
                "DELIVERY_ALLOWED_HOSTS": ["127.0.0.1"],
                "PIXELPLUS_POLL_SECONDS": 0.5,
            }
        )
        try:
            with LiveServer(app) as live:
                key, order_ids = _setup(app, f"{live.url}/sandbox/graph", 3 * changes + 1)
                _status_changes(app, live.url, key, order_ids[:1], 0)  # warm-up
                instant, instant_total = _status_changes(app, live.url, key, order_ids[1 : changes + 1], 0)
                slow, slow_total = _status_changes(app, live.url, key, order_ids[changes + 1 : 2 * changes + 1], 1000)
                baseline = _baseline_changes(app, live.url, key, order_ids[2 * changes + 1 :], 1000, folder)
                stop_thread(app)
                slow_ratio = statistics.median(slow) / statistics.median(instant)
                speedup = statistics.median(baseline) / statistics.median(slow)
                figures.update(
                    {
                        "status_changes_per_series": changes,
                        "change_instant_graph_median_ms": _ms(statistics.median(instant)),
                        "change_instant_graph_p95_ms": _ms(_p95(instant)),
                        "change_1s_graph_median_ms": _ms(statistics.median(slow)),
                        "change_1s_graph_p95_ms": _ms(_p95(slow)),
                        "baseline_sync_1s_graph_median_ms": _ms(statistics.median(baseline)),
                        "baseline_sync_1s_graph_p95_ms": _ms(_p95(baseline)),
                        "ratio_ours_1s_vs_instant_median": round(slow_ratio, 2),
                        "ratio_ours_1s_vs_instant_p95": round(_p95(slow) / _p95(instant), 2),
                        "target_ratio_1s_vs_instant_max_1.2": "PASS" if slow_ratio <= 1.2 else "MISS",
                        "speedup_ours_vs_sync_baseline_1s_graph": round(speedup, 1),
                        "target_speedup_at_least_10x": "PASS" if speedup >= 10 else "MISS",
                        "all_sent_after_1s_graph_s": round(slow_total, 2),
                        "all_sent_after_instant_graph_s": round(instant_total, 2),
                    }
                )
                app.config["PIXELPLUS_DISPATCH"] = "worker"
                with app.app_context():
                    queue(app, [sandbox_event(n) for n in range(1000)])
                one = _drain(app, 1)
                queue(app, [sandbox_event(n) for n in range(1000)])
                with batch_size_of(app, 100):
                    two = _drain(app, 2)
                _wait_until_sent(app, 2000 + 2 * changes + 1, timeout=5)  # the baseline queued nothing
                figures.update(
                    {
                        "drain_1000_one_dispatcher_s": round(one, 2),
                        "drain_1000_one_dispatcher_events_per_s": round(1000 / one),
                        "drain_1000_two_dispatchers_batches_of_100_s": round(two, 2),
                        "drain_1000_two_dispatchers_events_per_s": round(1000 / two),
                    }
                )
        finally:
            server_log.setLevel(level)
            stop_thread(app)
            with app.app_context():
                db.session.remove()
                if os.environ.get("FLASK_TEST_DATABASE_URI"):
                    db.drop_all()
                db.engine.dispose()
    return figures


def _p95(values: list[float]) -> float:
    """Return the 95th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
