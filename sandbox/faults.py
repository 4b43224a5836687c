"""Fault injection for every sandbox (Meta, GA4, Google Ads, webhooks): latency and chosen errors.

One database row per service, so `PUT /sandbox/api/faults` (Meta) or `PUT /sandbox/api/<service>/faults`
in the web process also affects a worker process sending to the same sandbox. `count` limits how many
requests get the error (the latency applies until the faults are cleared); `error_rate: 1.0` makes every
request fail, so tests are deterministic. A `timeout` fault holds the request for `hang_ms` (default
SANDBOX_HANG_MS), then answers normally: the client gave up, yet the service received the data, which is
exactly when dedup matters. Sleeping only holds the one request thread; no database transaction stays open.
"""

import random
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update

from core.inputs import MAX_ID
from extensions import db
from sandbox.models import ServiceFault

MAX_LATENCY_MS = 30_000
MAX_HANG_MS = 60_000
FIELDS = ("latency_ms", "error", "error_rate", "count", "hang_ms")
# The Google services: server (500), unavailable (503, transient), timeout (hold, then answer), auth (401).
_GOOGLE_ERRORS = ("server", "unavailable", "timeout", "auth")
META = "meta_capi"
# The kinds of error each service can be told to answer, by service (the destination name it stands for).
ERRORS = {
    META: ("transient", "server", "timeout", "token", "app_limit", "user_limit", "business_limit", "rate_limit"),
    "ga4": _GOOGLE_ERRORS,
    "google_ads": _GOOGLE_ERRORS,
    # The webhook receiver also answers gone (410), throttled (429 with Retry-After) and wrong_status (a 302).
    "webhook": (*_GOOGLE_ERRORS, "gone", "throttled", "wrong_status"),
}


@dataclass(frozen=True)
class Fault:
    """What to do to one request: wait latency_ms, then fail with error (or not)."""

    latency_ms: int = 0
    error: str | None = None
    hang_ms: int = 0


def current_faults(service: str) -> ServiceFault | None:
    """Return the service's faults row, or None when no fault was ever set."""
    return db.session.get(ServiceFault, service)


def clean_faults(service: str, body: dict) -> tuple[dict, dict]:
    """Return (clean values, per-field errors) for a faults body for service."""
    known_errors = ERRORS[service]
    errors = {key: f"unknown field; use {', '.join(FIELDS)}" for key in body if key not in FIELDS}
    clean: dict = {}
    latency = body.get("latency_ms", 0)
    if _whole(latency, 0, MAX_LATENCY_MS):
        clean["latency_ms"] = latency
    else:
        errors["latency_ms"] = f"must be a whole number of milliseconds from 0 to {MAX_LATENCY_MS}"
    error = body.get("error")
    if error is not None and error not in known_errors:
        errors["error"] = f"must be one of {', '.join(known_errors)}"
    clean["error"] = error
    rate = body.get("error_rate", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        errors["error_rate"] = "must be a number from 0 to 1 (the share of requests that fail)"
    else:
        clean["error_rate"] = float(rate)
    count = body.get("count")
    if count is not None and not _whole(count, 1, MAX_ID):
        errors["count"] = f"must be a whole number of requests, from 1 to {MAX_ID}"
    clean["count"] = count
    hang = body.get("hang_ms")
    if hang is not None and not _whole(hang, 0, MAX_HANG_MS):
        errors["hang_ms"] = f"must be a whole number of milliseconds from 0 to {MAX_HANG_MS}"
    clean["hang_ms"] = hang
    if error is None:
        for key in ("error_rate", "count", "hang_ms"):
            if key in body and key not in errors:
                errors[key] = f"only meaningful with an error ({', '.join(known_errors)})"
    elif error != "timeout" and hang is not None and "hang_ms" not in errors:
        errors["hang_ms"] = "only meaningful with error: timeout"
    return clean, errors


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def set_faults(service: str, clean: dict) -> ServiceFault:
    """Replace the service's faults with clean values from clean_faults (an empty dict clears them); caller commits."""
    faults = current_faults(service)
    if faults is None:
        faults = ServiceFault(service=service)
        db.session.add(faults)
    faults.latency_ms = clean.get("latency_ms") or 0
    faults.error = clean.get("error")
    faults.error_rate = clean.get("error_rate", 1.0) if faults.error else 1.0
    faults.remaining = clean.get("count") if faults.error else None
    faults.hang_ms = clean.get("hang_ms") if faults.error == "timeout" else None
    return faults


def draw_fault(service: str) -> Fault:
    """Decide the fault for one request to service, using up one of `count` if the error fires; commits."""
    faults = current_faults(service)
    if faults is None or not faults.active:
        db.session.rollback()
        return Fault()
    latency, error, hang = faults.latency_ms or 0, None, 0
    if faults.error is not None and faults.remaining != 0 and random.random() < faults.error_rate:  # noqa: S311
        error = faults.error
        if faults.remaining is not None:
            # Another thread or process may have used the last one: only a successful decrement counts.
            used = db.session.execute(
                update(ServiceFault)
                .where(ServiceFault.service == service, ServiceFault.remaining > 0)
                .values(remaining=ServiceFault.remaining - 1)
            )
            if used.rowcount == 0:
                error = None
        if error == "timeout":
            hang = faults.hang_ms if faults.hang_ms is not None else current_app.config["SANDBOX_HANG_MS"]
    db.session.commit()
    return Fault(latency_ms=latency, error=error, hang_ms=hang)
