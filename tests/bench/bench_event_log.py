"""The sent-events log at scale, and the dispatcher's memory while it drains a large backlog.

1. ROWS outbox events are bulk-inserted (Core executemany in chunks), with their orders (two events per
   order, as partial refunds make them); the newest RECENT (200,000 at most) were created in the last 56
   hours, the older ones more than 30 days ago, so the charts' window holds RECENT events whatever ROWS is.
   A signed-in superadmin then renders the log's first page, a page deep in the list (keyset ``before``
   at a tenth of the ids), a filter by order reference, by the start of a reference, by a part from its
   middle and by a part no reference holds, through the Flask test client (no network); each is timed
   over a few repetitions and the median is reported against the 100 ms target (200 ms for a middle
   part). The log's charts are timed alone (each chart's CSV: events by status per hour and per day,
   value by currency) against 200 ms, and together (the fragment htmx refreshes every 30 s).
2. BACKLOG pending events are drained by one dispatcher against the embedded sandbox served on a loopback
   port, while a thread samples the process's resident memory (VmRSS): the figures are the RSS before,
   the peak during the drain and the growth (target: flat, peak under 300 MB). BENCH_LOG_BACKLOG=0
   skips it.
ROWS is 200,000 and BACKLOG 20,000 by default; `--full` (BENCH_FULL=1) uses 1,000,000 and 100,000.
"""

import logging
import os
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text

from app import DEMO_ACCESS_TOKEN, DEMO_PIXEL_ID, create_app
from delivery.dispatcher import Dispatcher
from delivery.models import PENDING, SENT, OutboxEvent
from delivery.worker import stop_thread
from extensions import db
from pixelplus.graph import dumps
from pixelplus.settings import save_settings
from shop.cli import create_employee
from shop.models import Customer, Order
from shop.states import install_default_states
from tests.conftest import GRAPH_VERSION, LiveServer
from tests.delivery_support import sandbox_event

CHUNK = 10_000
RECENT = 200_000
REPEATS = 5
PASSWORD = "bench-password-123"


def _seed(app, count: int, status: str, first: int = 0, recent: int | None = None) -> None:
    """Insert count outbox events in chunks, two per order, one a second up to now.

    Only the newest recent ones fall in the charts' 30 days: the older ones are 31 days older still.
    """
    table = OutboxEvent.__table__
    now = datetime.now(UTC)
    old_before = first + count - (count if recent is None else recent)
    with app.app_context():
        for start in range(first, first + count, CHUNK):
            rows = []
            for n in range(start, min(start + CHUNK, first + count)):
                event = sandbox_event(n)
                age = timedelta(seconds=first + count - n) + (timedelta(days=31) if n < old_before else timedelta())
                rows.append(
                    {
                        "destination": "meta_capi",
                        "target": app.config["DEMO_PIXEL_ID"],
                        "order_id": n // 2 + 1,
                        "order_reference": _reference(n // 2),
                        "event_name": "Refund",
                        "event_id": event["event_id"],
                        "value": Decimal("23.88"),
                        "currency": "EUR",
                        "payload_json": dumps(event),
                        "status": status,
                        "attempts": 1 if status == SENT else 0,
                        "next_attempt_at": now,
                        "created_at": now - age,
                        "sent_at": now if status == SENT else None,
                    }
                )
            db.session.execute(table.insert(), rows)
            db.session.commit()


def _seed_orders(app, count: int) -> None:
    """Insert count orders of one customer, order k + 1 with the reference _reference(k)."""
    with app.app_context():
        db.session.execute(
            Customer.__table__.insert(),
            [{"id": 1, "email": "bench@customer.test", "firstname": "Bench", "lastname": "Customer", "country": "FR"}],
        )
        for start in range(0, count, CHUNK):
            db.session.execute(
                Order.__table__.insert(),
                [
                    {
                        "id": k + 1,
                        "reference": _reference(k),
                        "customer_id": 1,
                        "currency": "EUR",
                        "total_products_tax_excl": Decimal("56.30"),
                        "total_products_tax_incl": Decimal("67.56"),
                        "total_shipping_tax_excl": Decimal("0"),
                        "total_shipping_tax_incl": Decimal("0"),
                    }
                    for k in range(start, min(start + CHUNK, count))
                ],
            )
            db.session.commit()


def _newest_holding(part: str, events: int) -> int | None:
    """Return the number of the newest of the first events whose order's reference holds part (None: none)."""
    for k in range((events - 1) // 2, -1, -1):
        if part in _reference(k):
            return min(2 * k + 1, events - 1)
    return None


def _reference(k: int) -> str:
    """Return a 9-letter order reference unique to k, as the shop's references look."""
    letters = []
    for _ in range(9):
        k, digit = divmod(k, 26)
        letters.append(chr(ord("A") + digit))
    return "".join(reversed(letters))


def _timed_get(client, path: str, expect: str) -> float:
    """Return the median seconds of REPEATS renders of a log page (each checked for a 200 showing expect)."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        if response.status_code != 200 or expect.encode() not in response.data:
            raise RuntimeError(f"{path} answered {response.status_code} without {expect}")
    return statistics.median(times)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _drain_with_memory(app) -> tuple[float, float, float]:
    """Drain every pending event; return (seconds, RSS before in MB, peak RSS during in MB)."""
    peak = [_rss_mb()]
    before = peak[0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with app.app_context():
        dispatcher = Dispatcher(app, worker="bench")
        started = time.perf_counter()
        dispatcher.run_once()
        elapsed = time.perf_counter() - started
        dispatcher.close()
    done.set()
    sampler.join()
    return elapsed, before, peak[0]


def run() -> dict:
    """Seed the log, time its pages, then drain a backlog while watching memory."""
    full = os.environ.get("BENCH_FULL") == "1"
    rows = int(os.environ.get("BENCH_LOG_ROWS", "1000000" if full else "200000"))
    backlog = int(os.environ.get("BENCH_LOG_BACKLOG", "100000" if full else "20000"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    figures: dict = {"log_rows": rows}
    with tempfile.TemporaryDirectory() as folder:
        uri = os.environ.get("FLASK_TEST_DATABASE_URI") or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": uri,
                "PIXELPLUS_DISPATCH": "worker",
                "DELIVERY_ALLOWED_HOSTS": ["127.0.0.1"],
                "WTF_CSRF_ENABLED": False,
            }
        )
        try:
            with app.app_context():
                install_default_states()
                create_employee("bench@shop.test", "superadmin", PASSWORD)
                first_id = (db.session.scalar(select(func.max(OutboxEvent.id))) or 0) + 1
            started = time.perf_counter()
            _seed_orders(app, (rows + backlog) // 2 + 1)
            _seed(app, rows, SENT, recent=min(rows, RECENT))
            figures["seed_s"] = round(time.perf_counter() - started, 1)
            with app.app_context():
                if db.engine.dialect.name == "postgresql":
                    # What autovacuum does after a bulk load (PostgreSQL 13+ vacuums after inserts too): the
                    # planner's statistics, and the visibility map that lets a scan read an index alone.
                    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                        connection.execute(text("VACUUM ANALYZE orders"))
                        connection.execute(text("VACUUM ANALYZE outbox_event"))
            figures["recent_events"] = min(rows, RECENT)
            client = app.test_client()
            client.post("/admin/login", data={"email": "bench@shop.test", "password": PASSWORD})
            deep = first_id + rows // 10
            middle = _reference(rows // 6)[4:8]  # four letters from the middle of a reference
            pages = {
                # Each page must show the event it should start with (event_ids end with their number).
                "first_page": ("/admin/events", f"-{rows - 1}<"),
                "deep_page": (f"/admin/events?before={deep}", f"-{deep - first_id - 1}<"),
                "filter_by_reference": (f"/admin/events?reference={_reference(rows // 6)}", f"-{rows // 3}<"),
                # The first 7 letters: 676 references (1,352 events) share them; the newest one leads.
                "filter_by_reference_start": (
                    f"/admin/events?reference={_reference(rows // 6)[:7]}",
                    f"-{min(2 * (rows // 6 - rows // 6 % 676 + 676) - 1, rows - 1)}<",
                ),
                "filter_by_reference_middle": (
                    f"/admin/events?reference={middle.lower()}",
                    f"-{_newest_holding(middle, rows)}<",
                ),
                # Q is the 17th letter: no reference of fewer than 17 * 26**4 orders holds five of them.
                "filter_by_reference_nowhere": ("/admin/events?reference=QQQQQ", "No events match the filter"),
            }
            client.get("/admin/events")  # warm-up: templates compiled, connection open
            for name, (path, expect) in pages.items():
                median = _timed_get(client, path, expect)
                figures[f"{name}_ms"] = round(median * 1000, 1)
                limit = 0.2 if name.startswith("filter_by_reference_") and name != "filter_by_reference_start" else 0.1
                figures[f"target_{name}_under_{round(limit * 1000)}ms"] = "PASS" if median < limit else "MISS"
            # The log's charts (48 hours or 30 days by status, 30 days of value), each alone through its CSV,
            # then the fragment with both (loaded after the page, then every 30 s).
            charts = {
                "chart_status_hour": ("/admin/events/activity.csv?kind=status&chart=hour", "hour (UTC)"),
                "chart_status_day": ("/admin/events/activity.csv?kind=status&chart=day", "day (UTC)"),
                "chart_value": ("/admin/events/activity.csv?kind=value", "day (UTC),EUR"),
            }
            for name, (path, expect) in charts.items():
                median = _timed_get(client, path, expect)
                figures[f"{name}_ms"] = round(median * 1000, 1)
                figures[f"target_{name}_under_200ms"] = "PASS" if median < 0.2 else "MISS"
            figures["charts_ms"] = round(_timed_get(client, "/admin/events/charts", "chart-status") * 1000, 1)
            if not backlog:
                return figures

            with LiveServer(app) as live:
                with app.app_context():
                    save_settings(
                        {
                            "enabled": True,
                            "pixel_id": DEMO_PIXEL_ID,
                            "access_token": DEMO_ACCESS_TOKEN,
                            "graph_url": f"{live.url}/sandbox/graph",
                            "api_version": GRAPH_VERSION,
                        }
                    )
                    db.session.commit()
                _seed(app, backlog, PENDING, first=rows)
                drain_s, before_mb, peak_mb = _drain_with_memory(app)
                with app.app_context():
                    sent = db.session.scalar(select(func.count()).select_from(OutboxEvent).filter_by(status=SENT))
                if sent != rows + backlog:
                    raise RuntimeError(f"{rows + backlog - sent} events of the backlog were not sent")
            figures.update(
                {
                    "backlog_events": backlog,
                    "backlog_drain_s": round(drain_s, 1),
                    "backlog_events_per_s": round(backlog / drain_s),
                    "rss_before_drain_mb": round(before_mb, 1),
                    "rss_peak_during_drain_mb": round(peak_mb, 1),
                    "rss_growth_during_drain_mb": round(peak_mb - before_mb, 1),
                    "target_peak_under_300mb": "PASS" if peak_mb < 300 else "MISS",
                }
            )
        finally:
            stop_thread(app)
            with app.app_context():
                db.session.remove()
                if os.environ.get("FLASK_TEST_DATABASE_URI"):
                    db.drop_all()
                db.engine.dispose()
    return figures
