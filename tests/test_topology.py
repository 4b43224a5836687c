"""The production topology, for real: PostgreSQL, gunicorn with 2 workers, 2 delivery workers, one SIGKILLed.

Every process is started the way scripts/production.sh starts it; the test only talks HTTP to the shop
(the JSON API and the embedded Meta sandbox it serves) and reads the database at the end.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ORDERS = 1000
CHUNK = 100  # orders per bulk request: ten batches for the delivery workers to share
DEADLINE = 420  # seconds for every event to be delivered, a killed worker's lease included


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, deadline: float, what: str, every: float = 0.2):
    """Return predicate()'s first truthy value, or fail once deadline (seconds from now) passes."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {deadline} s waiting for {what}")


@pytest.fixture
def database_url():
    """A database of its own on the test PostgreSQL server, dropped afterwards."""
    base = os.environ.get("FLASK_TEST_DATABASE_URI", "")
    if not base.startswith("postgresql"):
        pytest.skip("the production topology needs PostgreSQL: set FLASK_TEST_DATABASE_URI")
    name = f"topology_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Topology:
    """The processes of one production-like install, started and stopped together."""

    def __init__(self, database_url: str, tmp_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
            "FLASK_SECRET_KEY": "topology-test-secret",
            "FLASK_PIXELPLUS_DISPATCH": "worker",
            "FLASK_PIXELPLUS_DEMO_GRAPH_URL": f"{self.url}/sandbox/graph",
            # The embedded sandbox is on loopback: allow that one host:port for delivery.
            "FLASK_DELIVERY_ALLOWED_HOSTS": f'["127.0.0.1:{self.port}"]',
        }
        self.env.pop("FLASK_TEST_DATABASE_URI", None)
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def flask(self, *args: str) -> str:
        result = subprocess.run(
            [str(BIN / "flask"), "--app", "app", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}.log", "w")  # noqa: SIM115  (closed with the process's end)
        return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_web(self) -> None:
        self.web = self._spawn(
            [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{self.port}", "app:create_app()"], "web"
        )

        def up():
            try:
                return requests.get(f"{self.url}/api/order-states", timeout=5).status_code == 401
            except requests.RequestException:
                return False

        wait_for(up, 60, "gunicorn to answer")

    def start_worker(self) -> subprocess.Popen:
        worker = self._spawn([str(BIN / "flask"), "--app", "app", "pixelplus", "worker"], f"worker{len(self.workers)}")
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for process in [*self.workers, self.web]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.workers, self.web]:
            if process is not None:
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.tmp_path.glob("*.log")))


def demo_key(init_demo_output: str, role: str) -> str:
    match = re.search(rf"^\s+\S+\s+\S+\s+{role}\s+(\S+)\s*$", init_demo_output, re.MULTILINE)
    assert match, init_demo_output
    return match.group(1)


def test_bulk_refunds_delivered_once_with_a_delivery_worker_killed(database_url, tmp_path):
    topology = Topology(database_url, tmp_path)
    try:
        output = topology.flask("shop", "init-demo")  # migrations from nothing, then the demo data
        admin = {"Authorization": f"Bearer {demo_key(output, 'admin')}"}
        tester = {"Authorization": f"Bearer {demo_key(output, 'tester')}"}
        topology.start_web()
        http = requests.Session()
        states = {s["key"]: s["id"] for s in http.get(f"{topology.url}/api/order-states", headers=admin).json()}
        product = http.get(f"{topology.url}/api/products", headers=admin).json()[0]

        def place(n: int) -> int:
            body = {
                "customer": {
                    "email": f"buyer{n}@example.com",
                    "firstname": "Buyer",
                    "lastname": f"N{n}",
                    "country": "FR",
                    "city": "Lyon",
                    "postcode": "69001",
                },
                "lines": [{"product_id": product["id"], "quantity": 1 + n % 3}],
                "currency": "EUR",
                "state_id": states["PS_OS_PAYMENT"],
            }
            answer = requests.post(f"{topology.url}/api/orders", json=body, headers=admin, timeout=30)
            assert answer.status_code == 201, answer.text
            return answer.json()["id"]

        with ThreadPoolExecutor(4) as pool:
            order_ids = list(pool.map(place, range(ORDERS)))
        assert len(set(order_ids)) == ORDERS

        # Slow Meta down so batches are in flight when a worker dies.
        faults = http.put(f"{topology.url}/sandbox/api/faults", json={"latency_ms": 400}, headers=tester)
        assert faults.status_code == 200, faults.text
        first, second = topology.start_worker(), topology.start_worker()

        def received() -> list[dict]:
            answer = http.get(f"{topology.url}/sandbox/api/received", headers=tester, timeout=30)
            assert answer.status_code == 200, answer.text
            return [r for r in answer.json() if r["event"].get("event_name") == "Refund"]

        engine = sa.create_engine(database_url)

        def leased_by(pid: int) -> list[int]:
            """The pending events a worker process holds a lease on (its name carries its pid)."""
            with engine.connect() as connection:
                return (
                    connection.execute(
                        sa.text(f"SELECT id FROM {outbox} WHERE status = 'pending' AND claimed_by LIKE :worker"),  # noqa: S608
                        {"worker": f"%:{pid}:%"},
                    )
                    .scalars()
                    .all()
                )

        with engine.connect() as connection:
            outbox = "outbox_event" if sa.inspect(connection).has_table("outbox_event") else "pixelplus_outbox_event"
        before = len(received())  # the demo's own refunds, delivered by nobody yet: none reached the sandbox
        for start in range(0, ORDERS, CHUNK):
            chunk = order_ids[start : start + CHUNK]
            answer = http.post(
                f"{topology.url}/api/orders/bulk-status",
                json={"order_ids": chunk, "state_id": states["PS_OS_REFUND"]},
                headers=admin,
                timeout=120,
            )
            assert answer.status_code == 200, answer.text
            assert sorted(answer.json()["changed"]) == sorted(chunk)
            if start == 2 * CHUNK:
                wait_for(lambda: len(received()) > before, 60, "the first events to reach the sandbox")
                # Kill a worker while it holds a leased batch: those events must not be lost.
                victim = wait_for(
                    lambda: next((w for w in (first, second) if leased_by(w.pid)), None),
                    60,
                    "a worker to lease a batch",
                    every=0.02,
                )
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                survivor = second if victim is first else first
                killed_batch = leased_by(victim.pid)

        assert killed_batch, "the worker was killed holding no lease"
        references = {}
        with engine.connect() as connection:
            for order_id, reference in connection.execute(
                sa.text("SELECT id, reference FROM orders WHERE id = ANY(:ids)"), {"ids": order_ids}
            ):
                references[order_id] = reference
        wanted = {f"refund-{references[i]}-1" for i in order_ids}

        def all_counted():
            counted = Counter(r["event"].get("event_id") for r in received() if not r["deduplicated"])
            return counted if wanted <= set(counted) else None

        counted = wait_for(all_counted, DEADLINE, "every refund to be counted by the sandbox", every=2)
        assert survivor.poll() is None, "the surviving delivery worker died:\n" + topology.logs()
        assert {event_id: n for event_id, n in counted.items() if event_id in wanted and n != 1} == {}

        def statuses() -> Counter:
            with engine.connect() as connection:
                return Counter(
                    connection.execute(
                        sa.text(
                            f"SELECT status FROM {outbox} WHERE destination = 'meta_capi' "  # noqa: S608
                            "AND (order_id = ANY(:ids) OR id = ANY(:killed))"
                        ),
                        {"ids": order_ids, "killed": killed_batch},
                    ).scalars()
                )

        # The sandbox records a batch before it answers (after the injected latency): the worker marks the
        # batch sent once the answer is back, so the last batch may still be pending for a moment.
        wait_for(lambda: statuses() == {"sent": ORDERS}, 60, "every outbox row to be marked sent", every=0.5)
        engine.dispose()
    except BaseException:
        print(topology.logs())
        raise
    finally:
        topology.stop()
