"""How fast the sandbox answers one Conversions API request of 1,000 valid events, over real HTTP.

The app runs on a fresh SQLite file (or FLASK_TEST_DATABASE_URI) behind a loopback werkzeug server;
each request carries 1,000 new Refund events (validated, dedup-checked, stored). A second series sends
the SDK's form shape (data as JSON-encoded strings), a third repeats event_ids so every event is a
duplicate. BENCH_SANDBOX_REQUESTS sets the number of requests per series (default 8: a few seconds).
"""

import hashlib
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import requests

from app import DEMO_ACCESS_TOKEN, DEMO_PIXEL_ID, create_app
from extensions import db
from sandbox.validation import first_error
from tests.conftest import LiveServer

EVENTS_PER_REQUEST = 1000


def events(batch: int, now: int) -> list[dict]:
    """Return 1,000 valid Refund events with event_ids unique to batch."""
    email = hashlib.sha256(b"jeanne.martin@example.fr").hexdigest()
    return [
        {
            "event_name": "Refund",
            "event_time": now,
            "event_id": f"bench-{batch}-{index}",
            "action_source": "website",
            "event_source_url": "https://shop.test/checkout",
            "user_data": {
                "em": [email],
                "external_id": [hashlib.sha256(str(index).encode()).hexdigest()],
                "client_ip_address": "203.0.113.7",
                "client_user_agent": "Mozilla/5.0 (X11; Linux x86_64) Bench/1.0",
                "fbp": "fb.1.1700000000000.1234567890",
            },
            "custom_data": {
                "value": 23.88,
                "currency": "EUR",
                "content_type": "product",
                "content_ids": ["TSHIRT-01"],
                "contents": [{"id": "TSHIRT-01", "quantity": 1, "item_price": 23.88}],
                "num_items": 1,
                "order_id": str(index),
                "order_reference": "XKBKNABJK",
            },
        }
        for index in range(EVENTS_PER_REQUEST)
    ]


def _timed(send, count: int) -> list[float]:
    """Return the duration in seconds of count calls of send(i), each checked for 1,000 received."""
    durations = []
    for index in range(count):
        started = time.perf_counter()
        response = send(index)
        durations.append(time.perf_counter() - started)
        if response.status_code != 200 or response.json().get("events_received") != EVENTS_PER_REQUEST:
            raise RuntimeError(f"the sandbox refused a benchmark request: {response.status_code} {response.text[:300]}")
    return durations


def run() -> dict:
    """Send the series and return the figures."""
    count = int(os.environ.get("BENCH_SANDBOX_REQUESTS", "8"))
    with tempfile.TemporaryDirectory() as folder:
        uri = os.environ.get("FLASK_TEST_DATABASE_URI") or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": uri, "PIXELPLUS_DISPATCH": "worker"}
        )
        url_path = f"/sandbox/graph/v26.0/{DEMO_PIXEL_ID}/events"
        now = int(time.time())
        batches = {index: events(index, now) for index in range(-1, 2 * count)}
        bodies = {i: json.dumps({"data": batch, "access_token": DEMO_ACCESS_TOKEN}) for i, batch in batches.items()}
        forms = {
            index: {"data": json.dumps([json.dumps(event) for event in batches[count + index]])}
            for index in range(count)
        }
        started = time.perf_counter()
        error = first_error(batches[0], time.time())
        validation_ms = (time.perf_counter() - started) * 1000
        assert error is None, error
        server_log = logging.getLogger("werkzeug")
        level = server_log.level
        server_log.setLevel(logging.WARNING)  # one log line per request would drown the table
        try:
            with LiveServer(app) as live, requests.Session() as session:
                url = live.url + url_path
                headers = {"Content-Type": "application/json"}
                _timed(lambda i: session.post(url, data=bodies[-1], headers=headers, timeout=30), 1)  # warm-up
                json_times = _timed(lambda i: session.post(url, data=bodies[i], headers=headers, timeout=30), count)
                form_times = _timed(
                    lambda i: session.post(url, data=forms[i], params={"access_token": DEMO_ACCESS_TOKEN}, timeout=30),
                    count,
                )
                dup_times = _timed(lambda i: session.post(url, data=bodies[i], headers=headers, timeout=30), count)
        finally:
            server_log.setLevel(level)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    median = statistics.median(json_times)
    return {
        "events_per_request": EVENTS_PER_REQUEST,
        "requests_per_series": count,
        "json_median_ms": round(median * 1000, 1),
        "json_p95_ms": round(_p95(json_times) * 1000, 1),
        "json_max_ms": round(max(json_times) * 1000, 1),
        "json_requests_per_s": round(1 / median, 2),
        "json_events_per_s": round(EVENTS_PER_REQUEST / median),
        "sdk_form_median_ms": round(statistics.median(form_times) * 1000, 1),
        "all_duplicates_median_ms": round(statistics.median(dup_times) * 1000, 1),
        "validation_only_ms": round(validation_ms, 1),
        "under_one_second": max(json_times) < 1.0,
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
