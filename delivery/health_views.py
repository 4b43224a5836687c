"""`/healthz` for load balancers and `/metrics` for Prometheus.

`/healthz` answers 200 while the database answers (503 otherwise), with each destination's outbox (waiting,
failed, the oldest waiting event, the breaker) and the delivery workers seen in the last minute: a backlog
or a missing worker is reported, not turned into a failure, so a load balancer keeps the web processes.
`/metrics` is open unless `METRICS_TOKEN` is set; then it needs ``Authorization: Bearer <token>``.
"""

import hmac
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from core.access import public
from core.dbtypes import utcnow
from delivery import monitoring
from delivery.registry import destinations
from extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """Answer whether the shop can serve, and how delivery is doing."""
    now = utcnow()
    try:
        db.session.execute(text("SELECT 1"))
        outbox = monitoring.outbox_health(destinations(current_app))
        workers = monitoring.workers_seen(now)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.warning("health check: the database does not answer: %s", type(error).__name__)
        return jsonify({"status": "down", "database": "unreachable"}), 503, {"Retry-After": "5"}
    body = {
        "status": "ok",
        "database": "ok",
        "dispatch": current_app.config["PIXELPLUS_DISPATCH"],
        "destinations": {name: health.as_json(now) for name, health in sorted(outbox.items())},
        "workers_seen_last_minute": len(workers),
        "workers": [
            {"name": w.name, "kind": w.kind, "seen_at": w.seen_at.isoformat()} for w in sorted(workers, key=_name)
        ],
    }
    return jsonify(body), 200, {"Cache-Control": "no-store"}


def _name(worker) -> str:
    return worker.name


@bp.get("/metrics")
@public
def metrics():
    """Answer the delivery figures in Prometheus' text format."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), str(token).encode()):
            return Response("metrics need Authorization: Bearer <METRICS_TOKEN>\n", 401, mimetype="text/plain")
    registry = CollectorRegistry()
    registry.register(_DeliveryCollector(list(destinations(current_app))))
    try:
        output = generate_latest(registry)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return Response(output, mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


class _DeliveryCollector:
    """Read the counters and the outbox now, as Prometheus metric families."""

    def __init__(self, names: list[str]):
        self.names = names

    def collect(self):
        attempts = CounterMetricFamily(
            "shop_delivery_attempts", "HTTP exchanges with a destination, by outcome", labels=["destination", "outcome"]
        )
        events = CounterMetricFamily(
            "shop_delivery_events",
            "What attempts did to events: sent, retried (rescheduled), failed",
            labels=["destination", "outcome"],
        )
        buckets: dict[str, dict[str, float]] = {}
        sums: dict[str, float] = {}
        for counter in monitoring.counters():
            if counter.name == "attempts":
                attempts.add_metric([counter.destination, counter.label], counter.value)
            elif counter.name == "events":
                events.add_metric([counter.destination, counter.label], counter.value)
            elif counter.name == "duration_bucket":
                buckets.setdefault(counter.destination, {})[counter.label] = counter.value
            elif counter.name == "duration_count":
                buckets.setdefault(counter.destination, {})["+Inf"] = counter.value
            elif counter.name == "duration_sum":
                sums[counter.destination] = counter.value
        yield attempts
        yield events
        latency = HistogramMetricFamily(
            "shop_delivery_duration_seconds", "How long a destination took to answer", labels=["destination"]
        )
        for destination, counts in sorted(buckets.items()):
            # Buckets are cumulative: an answer of 0.3 s was counted under 0.5, 1.0, … already.
            series = [(str(bound), counts.get(str(bound), 0.0)) for bound in monitoring.DURATION_BUCKETS]
            series.append(("+Inf", counts.get("+Inf", 0.0)))
            latency.add_metric([destination], series, sum_value=sums.get(destination, 0.0))
        yield latency

        now = utcnow()
        depth = GaugeMetricFamily(
            "shop_outbox_events", "Events waiting or failed now", labels=["destination", "status"]
        )
        oldest = GaugeMetricFamily(
            "shop_outbox_oldest_waiting_seconds", "Age of the oldest waiting event", labels=["destination"]
        )
        breaker = GaugeMetricFamily(
            "shop_delivery_breaker_open", "1 while a destination's breaker is open", labels=["destination"]
        )
        for destination, health in sorted(monitoring.outbox_health(self.names).items()):
            depth.add_metric([destination, "waiting"], health.waiting)
            depth.add_metric([destination, "failed"], health.failed)
            age = (now - health.oldest_waiting_at).total_seconds() if health.oldest_waiting_at else 0.0
            oldest.add_metric([destination], age)
            breaker.add_metric([destination], 1.0 if health.breaker_open else 0.0)
        yield depth
        yield oldest
        yield breaker
        workers = GaugeMetricFamily("shop_delivery_workers_seen", "Delivery workers seen in the last minute")
        workers.add_metric([], len(monitoring.workers_seen(now)))
        yield workers
