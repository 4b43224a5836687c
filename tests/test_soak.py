"""Soak: many orders refunded in every way while the sandbox misbehaves, then the faults stop.

Over real HTTP: the back office's JSON API refunds orders in four ways (full status change, two partial
credit slips, Canceled then Refunded, a slip then Refunded) while the embedded sandbox injects 30%
transient errors, latency spikes, timeouts (the request is received, our client gives up) and an outage
(every request fails). Then the faults are cleared and delivery must settle. What must hold:
every expected event arrived exactly once per event_id (other arrivals are the same event_id, marked
deduplicated, which Meta discards); no event failed; per order, the values that arrived add up to the
refunded amount; every back-office request answered during the outage.
Then a second outage, of 10 minutes on a clock the test moves: more orders are refunded while every
request fails; nothing may fail, and once the sandbox answers again the backlog must leave at once.
The short form runs with the suite; the long form (2,000 orders, a 20 s outage, a worker process killed
with SIGKILL at random moments five times, 500 orders through the 10-minute outage) runs with ``--slow``.
"""

import random
import signal
import threading
import time
from collections import defaultdict
from decimal import Decimal

import pytest
import requests
from sqlalchemy import select

from delivery.dispatcher import Dispatcher
from delivery.models import FAILED, PENDING, SENT, OutboxEvent
from delivery.worker import stop_thread
from extensions import db
from pixelplus.settings import save_settings
from sandbox.models import ReceivedEvent
from shop.models import Order, OrderLine, OrderState
from tests.conftest import GRAPH_VERSION, wait_for
from tests.delivery_support import MovingClock
from tests.test_delivery_e2e import worker_process

WAYS = ("full", "two_slips", "cancel_then_refund", "slip_then_refund")

# make_order's order: 2 T-shirts at 19.90 and a mug at 9.50 (20% VAT), 7.00 shipping (20% VAT).
TSHIRT = Decimal("23.88")  # 19.90 + 20%
MUG = Decimal("11.40")  # 9.50 + 20%
ORDER_TOTAL = Decimal("67.56")  # 2 × 23.88 + 11.40 + 8.40 shipping
# Refunded (directly, after Canceled, or after a slip) reports the whole order once; two slips report themselves.
TWO_SLIPS = TSHIRT + MUG  # 35.28


@pytest.fixture
def dispatch_mode() -> str:
    """The app's PIXELPLUS_DISPATCH; the long form uses worker processes."""
    return "thread"


@pytest.fixture
def app_config(app_config, dispatch_mode):
    # Retries sized so that an outage plus a run of transient errors stays within the attempts allowed.
    app_config.update(
        PIXELPLUS_DISPATCH=dispatch_mode,
        DELIVERY_RETRY_SCHEDULE=[0.3, 0.6, 1.2, 2.0],
        PIXELPLUS_POLL_SECONDS=0.2,
        PIXELPLUS_READ_TIMEOUT=0.4,
    )
    return app_config


@pytest.fixture
def soak(app, live, staff):
    """The module enabled (credit slips fire too) against the live sandbox, and an API session."""
    with app.app_context():
        save_settings(
            {
                "enabled": True,
                "pixel_id": app.config["DEMO_PIXEL_ID"],
                "access_token": app.config["DEMO_ACCESS_TOKEN"],
                "graph_url": f"{live.url}/sandbox/graph",
                "api_version": GRAPH_VERSION,
                "refund_on_credit_slip": True,
            }
        )
        db.session.commit()
        states = {key: OrderState.by_key(key).id for key in ("PS_OS_REFUND", "PS_OS_CANCELED")}
    http = requests.Session()
    http.headers.update(staff.headers("superadmin"))
    yield type("Soak", (), {"url": live.url, "http": http, "app": app, "states": states})
    http.put(f"{live.url}/sandbox/api/faults", json={}, timeout=10)
    stop_thread(app)


def set_faults(soak, **faults) -> None:
    response = soak.http.put(f"{soak.url}/sandbox/api/faults", json=faults, timeout=10)
    assert response.status_code == 200, response.text


def refund(soak, order_id: int, way: str, lines: list[int]) -> list[requests.Response]:
    """Refund an order in one of the WAYS through the JSON API; return every answer."""
    url = f"{soak.url}/api/orders/{order_id}"

    def status(key: str) -> requests.Response:
        return soak.http.post(f"{url}/status", json={"state_id": soak.states[key]}, timeout=10)

    def slip(line_id: int) -> requests.Response:
        body = {"lines": [{"order_line_id": line_id, "quantity": 1}]}
        return soak.http.post(f"{url}/credit-slips", json=body, timeout=10)

    if way == "full":
        return [status("PS_OS_REFUND")]
    if way == "two_slips":
        return [slip(lines[0]), slip(lines[1])]
    if way == "cancel_then_refund":
        return [status("PS_OS_CANCELED"), status("PS_OS_REFUND")]
    return [slip(lines[1]), status("PS_OS_REFUND")]


def place_orders(app, make_order, count: int) -> dict[int, list[int]]:
    """Place count paid orders of two lines; return their line ids by order id."""
    ids = [make_order("PS_OS_PAYMENT", quantities=(2, 1, 0)) for _ in range(count)]
    with app.app_context():
        lines: dict[int, list[int]] = defaultdict(list)
        for line in db.session.scalars(select(OrderLine).where(OrderLine.order_id.in_(ids)).order_by(OrderLine.id)):
            lines[line.order_id].append(line.id)
    return {order_id: lines[order_id] for order_id in ids}


def run_soak(soak, orders: dict[int, list[int]], outage_s: float, phase_s: float) -> list[float]:
    """Refund every order while the faults change phase by phase; return the outage's answer times."""
    phases = [
        {"error": "transient", "error_rate": 0.3, "latency_ms": 20},
        {"latency_ms": 300},  # a latency spike
        {"error": "timeout", "error_rate": 0.3, "hang_ms": 600},
        {"error": "transient", "error_rate": 0.3},
        {"error": "server", "error_rate": 1.0},  # the outage: every request fails
    ]
    items = list(orders.items())
    chunk = -(-len(items) // len(phases))
    outage_times: list[float] = []
    for number, faults in enumerate(phases):
        set_faults(soak, **faults)
        outage = faults.get("error_rate") == 1.0
        started = time.monotonic()
        for index, (order_id, lines) in enumerate(items[number * chunk : (number + 1) * chunk]):
            began = time.monotonic()
            answers = refund(soak, order_id, WAYS[(number * chunk + index) % len(WAYS)], lines)
            if outage:
                outage_times.append(time.monotonic() - began)
            assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
        # Keep the phase going for its duration; during the outage the back office keeps being used.
        while time.monotonic() - started < (outage_s if outage else phase_s):
            began = time.monotonic()
            answer = soak.http.get(f"{soak.url}/api/orders/{items[0][0]}", timeout=10)
            if outage:
                outage_times.append(time.monotonic() - began)
            assert answer.status_code == 200
            time.sleep(0.2)
    set_faults(soak)
    return outage_times


def clock_outage(soak, app, orders: dict[int, list[int]], minutes: int = 10) -> float:
    """Refund orders while every request fails, let minutes pass on a moving clock (a dispatch pass every
    30 s), then clear the fault; return the real seconds the backlog took to leave once it was cleared."""
    set_faults(soak, error="server", error_rate=1.0)
    for index, (order_id, lines) in enumerate(orders.items()):
        answers = refund(soak, order_id, WAYS[index % len(WAYS)], lines)
        assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    clock = MovingClock()
    with app.app_context():
        dispatcher = Dispatcher(app, worker="soak-outage", clock=clock)
        try:
            for _ in range(minutes * 2):
                dispatcher.run_once()
                clock.advance(30)
            db.session.expire_all()
            assert list(db.session.scalars(select(OutboxEvent.event_id).filter_by(status=FAILED))) == []
            assert db.session.scalars(select(OutboxEvent.id).filter_by(status=PENDING)).first() is not None
            db.session.commit()
            set_faults(soak)
            started = time.monotonic()
            for _ in range(100):
                db.session.expire_all()
                if db.session.scalars(select(OutboxEvent.id).filter_by(status=PENDING)).first() is None:
                    break
                clock.advance(dispatcher.seconds_until_due() or 0)
                dispatcher.run_once()
            return time.monotonic() - started
        finally:
            dispatcher.close()


def settled(app):
    with app.app_context():
        statuses = list(db.session.scalars(select(OutboxEvent.status)))
    return statuses if statuses and PENDING not in statuses else None


def check_delivery(app, orders: dict[int, list[int]]) -> None:
    """Assert the four soak properties once nothing is pending."""
    with app.app_context():
        events = list(db.session.scalars(select(OutboxEvent)))
        assert [e.event_id for e in events if e.status == FAILED] == []
        assert all(e.status == SENT for e in events)
        order_of = {e.event_id: e.order_id for e in events}
        arrivals: dict[str, list] = defaultdict(list)
        for got in db.session.scalars(select(ReceivedEvent)):
            arrivals[got.event_id].append(got)
        assert set(arrivals) == set(order_of), "an event arrived that was never queued, or one never arrived"
        for event_id, got in arrivals.items():
            assert [g.deduplicated for g in got].count(False) == 1, f"{event_id} counted twice"
            assert len({str(g.event) for g in got}) == 1, f"{event_id} arrived with different contents"
        reported: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
        for event_id, got in arrivals.items():
            first = next(g for g in got if not g.deduplicated)
            reported[order_of[event_id]] += Decimal(str(first.event["custom_data"]["value"]))
        for order_id in orders:
            order = db.session.get(Order, order_id)
            assert order.total_paid_tax_incl == ORDER_TOTAL
            expected = ORDER_TOTAL if order.current_state.key == "PS_OS_REFUND" else TWO_SLIPS
            assert reported[order_id] == expected, f"order {order_id}: reported {reported[order_id]} of {expected}"


def test_soak_short(soak, app, make_order):
    orders = place_orders(app, make_order, 150)

    outage_times = run_soak(soak, orders, outage_s=3.0, phase_s=1.0)

    assert outage_times and max(outage_times) < 2.0, "the back office must answer at once during the outage"
    wait_for(lambda: settled(app), timeout=40, message="delivery to settle after the faults stop")
    check_delivery(app, orders)

    stop_thread(app)  # the moving-clock outage is driven by the test's own dispatcher
    more = place_orders(app, make_order, 40)
    assert clock_outage(soak, app, more, minutes=10) < 30
    check_delivery(app, orders | more)
    with app.app_context():
        arrivals = list(db.session.scalars(select(ReceivedEvent.deduplicated)))
    assert len(arrivals) - arrivals.count(True) > len(orders), "credit slips fire events of their own"
    assert True in arrivals, "the timeouts made Meta receive some events twice"


@pytest.mark.slow
@pytest.mark.parametrize("dispatch_mode", ["worker"])
def test_soak_long_with_the_worker_killed(soak, app, make_order):
    orders = place_orders(app, make_order, 2000)
    env = {"FLASK_DELIVERY_RETRY_SCHEDULE": "1,2,4,8", "FLASK_PIXELPLUS_READ_TIMEOUT": "0.4"}
    workers = [worker_process(app, env)]
    kills = 0
    chance = random.Random(7)

    def kill_now_and_then() -> None:
        # SIGKILL the worker at a random moment, then start another: at least five times in the run.
        nonlocal kills
        while kills < 5:
            time.sleep(chance.uniform(1.0, 6.0))
            workers[-1].send_signal(signal.SIGKILL)
            workers[-1].wait(10)
            kills += 1
            workers.append(worker_process(app, env))

    killer = threading.Thread(target=kill_now_and_then, daemon=True)
    killer.start()
    try:
        outage_times = run_soak(soak, orders, outage_s=20.0, phase_s=5.0)
        killer.join(timeout=60)
        assert kills >= 5
        wait_for(lambda: settled(app), timeout=300, message="delivery to settle after the faults stop")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.communicate(timeout=15)
    assert max(outage_times) < 2.0
    check_delivery(app, orders)

    more = place_orders(app, make_order, 500)
    assert clock_outage(soak, app, more, minutes=10) < 30
    check_delivery(app, orders | more)
