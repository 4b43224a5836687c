"""Helpers for the delivery tests: a scriptable Graph endpoint over real HTTP, settings and outbox rows."""

import hashlib
import json
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal

from flask import Flask, jsonify, request

from delivery.models import META_CAPI, OutboxEvent
from delivery.registry import EXTENSION_KEY
from extensions import db
from tests.conftest import GRAPH_VERSION, LiveServer

PIXEL_ID = "1234567890123456"
TOKEN = "EAABsecretTestToken1234567890abcdefghijklmnopqrstuvwxyz9x2Q"


class FakeGraph:
    """A Graph API events endpoint that records every request and answers as the test scripts it.

    ``fail_next`` answers with queued (status, body) pairs first; ``bad_event_ids`` makes any batch holding
    one of them rejected with code 100/2804019 (the whole request, as Meta does); ``latency`` delays
    every answer.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.raw_bodies: list[str] = []
        self.fail_next: list[tuple[int, dict]] = []
        self.bad_event_ids: set[str] = set()
        self.name_index = False  # when True, the bad-event message names the offending index
        self.latency = 0.0
        self.lock = threading.Lock()
        self.app = Flask("fake_graph")
        self.app.add_url_rule("/<version>/<pixel_id>/events", view_func=self._events, methods=["POST"])

    def _events(self, version, pixel_id):
        raw = request.get_data(as_text=True)
        body = json.loads(raw)
        with self.lock:
            self.raw_bodies.append(raw)
            self.requests.append({"version": version, "pixel_id": pixel_id, "body": body, "url": request.url})
            scripted = self.fail_next.pop(0) if self.fail_next else None
        if self.latency:
            time.sleep(self.latency)
        trace = uuid.uuid4().hex[:11]
        if scripted:
            status, answer = scripted
            return jsonify(answer), status
        for index, event in enumerate(body["data"]):
            if event.get("event_id") in self.bad_event_ids:
                where = f" at $['data'][{index}]" if self.name_index else ""
                return jsonify(
                    {
                        "error": {
                            "message": "Invalid parameter",
                            "type": "OAuthException",
                            "code": 100,
                            "error_subcode": 2804019,
                            "is_transient": False,
                            "error_user_title": "Invalid event",
                            "error_user_msg": f"Unexpected key 'bogus'{where}",
                            "fbtrace_id": trace,
                        }
                    }
                ), 400
        return jsonify({"events_received": len(body["data"]), "messages": [], "fbtrace_id": trace})

    def events(self) -> list[dict]:
        """Return every event received, in order, across requests."""
        return [event for req in self.requests for event in req["body"]["data"]]


def set_batch_size(monkeypatch, app, size: int, destination: str = META_CAPI) -> None:
    """Make the destination's requests carry at most size events, for this test."""
    registry = app.extensions[EXTENSION_KEY]
    monkeypatch.setitem(registry, destination, replace(registry[destination], batch_size=size))


@contextmanager
def batch_size_of(app, size: int, destination: str = META_CAPI):
    """Make the destination's requests carry at most size events inside the block (benchmarks)."""
    registry = app.extensions[EXTENSION_KEY]
    before = registry[destination]
    registry[destination] = replace(before, batch_size=size)
    try:
        yield
    finally:
        registry[destination] = before


def meta_error(code: int, message: str, subcode: int | None = None, transient: bool = False) -> dict:
    """Return a Graph API error body."""
    error = {"message": message, "type": "OAuthException", "code": code, "is_transient": transient}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AbCdEf123"
    return {"error": error}


def configure(graph_url: str, token: str = TOKEN, pixel_id: str = PIXEL_ID, test_event_code: str = "") -> None:
    """Store the module's connection settings (inside an app context); commits."""
    from pixelplus.settings import save_settings

    save_settings(
        {
            "pixel_id": pixel_id,
            "access_token": token,
            "graph_url": graph_url,
            "api_version": GRAPH_VERSION,
            "test_event_code": test_event_code,
        }
    )
    db.session.commit()


def add_events(count: int, test_event_code: str | None = None, target: str = PIXEL_ID, prefix: str = "") -> list[int]:
    """Queue count Refund events directly in the outbox (inside an app context); commits; returns ids."""
    rows = []
    for n in range(count):
        event_id = f"{prefix}refund-{uuid.uuid4().hex[:10]}-{n}"
        payload = {
            "event_name": "Refund",
            "event_time": int(time.time()),
            "event_id": event_id,
            "action_source": "system_generated",
            "user_data": {"em": ["a" * 64]},
            "custom_data": {"value": Decimal("12.30"), "currency": "EUR", "order_id": str(n)},
        }
        rows.append(
            OutboxEvent(
                destination=META_CAPI,
                target=target,
                event_name="Refund",
                event_id=event_id,
                value=Decimal("12.30"),
                currency="EUR",
                test_event_code=test_event_code,
                payload_json=json.dumps(payload, default=str).replace('"12.30"', "12.30"),
            )
        )
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


class QuickLiveServer(LiveServer):
    """LiveServer that shuts down in milliseconds (serve_forever polls every 0.5 s by default)."""

    def __init__(self, app):
        super().__init__(app)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)


def sandbox_event(n: int, bogus: bool = False) -> dict:
    """Return a Refund event the sandbox accepts (or rejects for an unknown key, when bogus)."""
    event = {
        "event_name": "Refund",
        "event_time": int(time.time()),
        "event_id": f"refund-e2e-{uuid.uuid4().hex[:12]}-{n}",
        "action_source": "system_generated",
        "user_data": {
            "em": [hashlib.sha256(f"customer{n}@example.com".encode()).hexdigest()],
            "external_id": [hashlib.sha256(str(n).encode()).hexdigest()],
        },
        "custom_data": {"value": 10 + n, "currency": "EUR", "order_id": str(n)},
    }
    if bogus:
        event["bogus"] = "Meta rejects keys it does not know"
    return event


def queue(app, events: list[dict], test_event_code: str | None = None) -> list[int]:
    """Put events into the outbox for the demo pixel, as they are; return the row ids."""
    with app.app_context():
        rows = [
            OutboxEvent(
                destination=META_CAPI,
                target=app.config["DEMO_PIXEL_ID"],
                event_name=e["event_name"],
                event_id=e["event_id"],
                test_event_code=test_event_code,
                payload_json=json.dumps(e),
            )
            for e in events
        ]
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


class MovingClock:
    """A clock the test moves by hand, for a dispatcher to read instead of the wall clock."""

    def __init__(self, start=None):
        from core.dbtypes import utcnow

        self.at = start or utcnow()

    def __call__(self):
        return self.at

    def advance(self, seconds: float) -> None:
        """Let seconds pass."""
        from datetime import timedelta

        self.at += timedelta(seconds=seconds)


class RestartableServer:
    """An app served on one loopback port that can be stopped (connections refused) and started again."""

    def __init__(self, app):
        self.app = app
        self.port = 0
        self.server = None
        self.thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "RestartableServer":
        """Listen (again, on the same port once it had one)."""
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: from now on connections to the port are refused."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None


def outage_then_drain(app, server: RestartableServer, count: int, outage_seconds: float, step: float = 30.0) -> dict:
    """Queue count events for the sandbox served by server, stop it for outage_seconds of a moving clock
    (a dispatch pass every step seconds), start it again, and drain. Return what happened, in figures.

    Call it outside an app context, with the module configured against the sandbox server serves.
    """
    from sqlalchemy import func, select

    from delivery.dispatcher import Dispatcher
    from delivery.models import FAILED, PENDING, SENT

    queue(app, [sandbox_event(n) for n in range(count)])
    clock = MovingClock()
    server.stop()
    figures = {"events": count, "outage_s": outage_seconds, "requests_during_outage": 0}
    with app.app_context():
        dispatcher = Dispatcher(app, worker="outage", clock=clock)
        try:
            passed = 0.0
            while passed < outage_seconds:
                figures["requests_during_outage"] += dispatcher.run_once().requests
                clock.advance(step)
                passed += step

            def by_status() -> dict:
                db.session.expire_all()
                rows = db.session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status))
                counts = dict(rows.all())
                db.session.commit()
                return counts

            during = by_status()
            figures["failed_during_outage"] = during.get(FAILED, 0)
            figures["pending_after_outage"] = during.get(PENDING, 0)
            server.start()
            started = time.monotonic()
            # The sandbox answers again; the breaker's next probe is at most DELIVERY_PROBE_MAX_SECONDS away.
            waited = 0.0
            passes = 0
            while by_status().get(PENDING, 0) and passes < 100:
                wait = dispatcher.seconds_until_due()
                if wait:
                    clock.advance(wait)
                    waited += wait
                dispatcher.run_once()
                passes += 1
            figures["drain_s"] = round(time.monotonic() - started, 3)
            figures["drain_clock_s"] = round(waited, 1)
            final = by_status()
            figures["sent"], figures["failed"] = final.get(SENT, 0), final.get(FAILED, 0)
        finally:
            dispatcher.close()
    return figures
