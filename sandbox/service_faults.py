"""Fault injection for the Google sandboxes (GA4, Google Ads): latency and chosen errors, per service.

One row per service in the database, so `PUT /sandbox/api/<service>/faults` in the web process also
affects a worker process sending to the same sandbox. `count` limits how many requests get the error;
a `timeout` holds the request for `hang_ms` and then answers normally (the client gave up, the service
still got the data). The Meta sandbox keeps its own faults (sandbox/faults.py).
"""

import random
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Float, Integer, String, update
from sqlalchemy.orm import Mapped, mapped_column

from core.dbtypes import UTCDateTime, utcnow
from extensions import db

SERVICES = ("ga4", "google_ads", "webhook")
# server: HTTP 500; unavailable: HTTP 503 (transient); timeout: hold, then answer; auth: HTTP 401.
SERVICE_ERRORS = ("server", "unavailable", "timeout", "auth")
# The webhook receiver also answers gone (410), throttled (429 with Retry-After) and wrong_status (a 302).
WEBHOOK_ERRORS = (*SERVICE_ERRORS, "gone", "throttled", "wrong_status")
MAX_LATENCY_MS = 30_000
MAX_HANG_MS = 60_000
FIELDS = ("latency_ms", "error", "error_rate", "count", "hang_ms")


class ServiceFault(db.Model):
    """The faults injected into one Google service's next requests."""

    __tablename__ = "sandbox_service_fault"

    service: Mapped[str] = mapped_column(String(16), primary_key=True)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(16))
    error_rate: Mapped[float] = mapped_column(Float, default=1.0)  # a probability, not money
    remaining: Mapped[int | None] = mapped_column(Integer)  # errors left to inject; None = no limit
    hang_ms: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def active(self) -> bool:
        """Tell whether any fault is set."""
        return bool(self.latency_ms) or (self.error is not None and self.remaining != 0)

    def to_json(self) -> dict:
        """Return the faults in the shape the PUT accepts."""
        body: dict = {}
        if self.latency_ms:
            body["latency_ms"] = self.latency_ms
        if self.error is not None:
            body.update(error=self.error, error_rate=self.error_rate)
            if self.remaining is not None:
                body["count"] = self.remaining
            if self.hang_ms is not None:
                body["hang_ms"] = self.hang_ms
        return body


@dataclass(frozen=True)
class Fault:
    """What to do to one request: wait, then fail with error (or not)."""

    latency_ms: int = 0
    error: str | None = None
    hang_ms: int = 0


def _whole(value, low: int, high: int | None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value and (high is None or value <= high)


def clean_faults(body: dict, known_errors: tuple[str, ...] = SERVICE_ERRORS) -> tuple[dict, dict]:
    """Return (clean values, per-field errors) for a faults body."""
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
    if count is not None and not _whole(count, 1, None):
        errors["count"] = "must be a whole number of requests, at least 1"
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


def current_faults(service: str) -> ServiceFault | None:
    """Return the service's faults row, or None when none was ever set."""
    return db.session.get(ServiceFault, service)


def set_faults(service: str, clean: dict) -> ServiceFault:
    """Replace the service's faults with clean values (an empty dict clears them); caller commits."""
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
    error, hang = None, 0
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
    latency = faults.latency_ms or 0
    db.session.commit()
    return Fault(latency_ms=latency, error=error, hang_ms=hang)
