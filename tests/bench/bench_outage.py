"""Outage: N events queued while the sandbox's host is down for longer than the old give-up time, then
the time from the host answering again until every event is acknowledged.

The sandbox is served by a loopback server that is stopped (connections refused) and started again on the
same port; the dispatcher reads a moving clock, so the outage (2 hours by default) passes in seconds of
real time. The figures: events failed (target 0), requests sent during the outage (one probe at a time,
not one per event), and the drain after recovery, in real seconds (target < 30) and on the moving clock.
N is 200 by default (the issue's), 2,000 with `--full` (BENCH_FULL=1) or BENCH_OUTAGE_EVENTS.
"""

import os
import tempfile
from pathlib import Path

from app import create_app
from delivery.worker import stop_thread
from extensions import db
from shop.states import install_default_states
from tests.delivery_support import RestartableServer, outage_then_drain
from tests.pixelplus_support import use_sandbox

OUTAGE_SECONDS = 2 * 3600


def run() -> dict:
    """Run the outage and return its figures."""
    default = 2000 if os.environ.get("BENCH_FULL") else 200
    count = int(os.environ.get("BENCH_OUTAGE_EVENTS", default))
    with tempfile.TemporaryDirectory() as folder:
        uri = os.environ.get("FLASK_TEST_DATABASE_URI") or f"sqlite:///{Path(folder) / 'outage.sqlite'}"
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": uri,
                "PIXELPLUS_DISPATCH": "worker",
                "DELIVERY_ALLOWED_HOSTS": ["127.0.0.1"],
            }
        )
        with app.app_context():
            if os.environ.get("FLASK_TEST_DATABASE_URI"):
                db.drop_all()
                db.create_all()
            install_default_states()
            db.session.commit()
        server = RestartableServer(app).start()
        try:
            use_sandbox(app, server.url)
            figures = outage_then_drain(app, server, count=count, outage_seconds=OUTAGE_SECONDS)
        finally:
            server.stop()
            stop_thread(app)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    if figures["failed"] or figures["sent"] != count:
        raise RuntimeError(f"the outage lost events: {figures}")
    return {
        "events": count,
        "outage_clock_s": OUTAGE_SECONDS,
        "failed (target 0)": figures["failed"],
        "requests_during_outage": figures["requests_during_outage"],
        "drain_after_recovery_s (target < 30)": figures["drain_s"],
        "drain_after_recovery_clock_s": figures["drain_clock_s"],
    }
