"""Fault injection: added latency and chosen errors for the next Graph requests, shared across processes.

The faults live in one database row, so `PUT /sandbox/api/faults` in the web process also affects a
`pixelplus worker` process sending to the same sandbox. `count` limits how many requests get the error
(the latency applies until the faults are cleared); `error_rate: 1.0` makes every request fail, so tests
are deterministic. A `timeout` fault holds the request for `hang_ms` (default SANDBOX_HANG_MS), then
answers normally: the client gave up, yet Meta received the events, which is exactly when dedup by
event_id matters. Sleeping only holds the one request thread; no database transaction stays open.
"""

import random
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update

from core.inputs import MAX_ID
from extensions import db
from sandbox.models import FAULT_ERRORS, FAULTS_ROW_ID, SandboxFaults

MAX_LATENCY_MS = 30_000
MAX_HANG_MS = 60_000
FIELDS = ("latency_ms", "error", "error_rate", "count", "hang_ms")


@dataclass(frozen=True)
class Fault:
    """What to do to one Graph request: wait latency_ms, then fail with error (or not)."""

    latency_ms: int = 0
    error: str | None = None
    hang_ms: int = 0


def current_faults() -> SandboxFaults | None:
    """Return the faults row, or None when no fault was ever set."""
    return db.session.get(SandboxFaults, FAULTS_ROW_ID)


def clean_faults(body: dict) -> tuple[dict, dict]:
    """Return (clean values, per-field errors) for a PUT /sandbox/api/faults body."""
    errors: dict[str, str] = {}
    clean: dict = {}
    for key in body:
        if key not in FIELDS:
            errors[key] = f"unknown field; use {', '.join(FIELDS)}"
    latency = body.get("latency_ms", 0)
    if not _whole(latency) or not 0 <= latency <= MAX_LATENCY_MS:
        errors["latency_ms"] = f"must be a whole number of milliseconds from 0 to {MAX_LATENCY_MS}"
    else:
        clean["latency_ms"] = latency
    error = body.get("error")
    if error is not None and error not in FAULT_ERRORS:
        errors["error"] = f"must be one of {', '.join(FAULT_ERRORS)}"
    clean["error"] = error
    rate = body.get("error_rate", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        errors["error_rate"] = "must be a number from 0 to 1 (the share of requests that fail)"
    else:
        clean["error_rate"] = float(rate)
    count = body.get("count")
    if count is not None and (not _whole(count) or not 1 <= count <= MAX_ID):
        errors["count"] = f"must be a whole number of requests, from 1 to {MAX_ID}"
    clean["count"] = count
    hang = body.get("hang_ms")
    if hang is not None and (not _whole(hang) or not 0 <= hang <= MAX_HANG_MS):
        errors["hang_ms"] = f"must be a whole number of milliseconds from 0 to {MAX_HANG_MS}"
    clean["hang_ms"] = hang
    if error is None:
        for key in ("error_rate", "count", "hang_ms"):
            if key in body and key not in errors:
                errors[key] = f"only meaningful with an error ({', '.join(FAULT_ERRORS)})"
    elif error != "timeout" and hang is not None and "hang_ms" not in errors:
        errors["hang_ms"] = "only meaningful with error: timeout"
    return clean, errors


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def set_faults(clean: dict) -> SandboxFaults:
    """Replace the faults with clean values from clean_faults (an empty dict clears them); caller commits."""
    faults = current_faults()
    if faults is None:
        faults = SandboxFaults(id=FAULTS_ROW_ID)
        db.session.add(faults)
    faults.latency_ms = clean.get("latency_ms") or 0
    faults.error = clean.get("error")
    faults.error_rate = clean.get("error_rate", 1.0) if faults.error else 1.0
    faults.remaining = clean.get("count") if faults.error else None
    faults.hang_ms = clean.get("hang_ms") if faults.error == "timeout" else None
    return faults


def draw_fault() -> Fault:
    """Decide the fault for one Graph request, using up one of `count` if the error fires; commits."""
    faults = current_faults()
    if faults is None or not faults.active:
        db.session.rollback()
        return Fault()
    latency, error, hang = faults.latency_ms or 0, None, 0
    if faults.error is not None and faults.remaining != 0 and random.random() < faults.error_rate:  # noqa: S311
        error = faults.error
        if faults.remaining is not None:
            # Another thread or process may have used the last one: only a successful decrement counts.
            used = db.session.execute(
                update(SandboxFaults)
                .where(SandboxFaults.id == FAULTS_ROW_ID, SandboxFaults.remaining > 0)
                .values(remaining=SandboxFaults.remaining - 1)
            )
            if used.rowcount == 0:
                error = None
        if error == "timeout":
            hang = faults.hang_ms if faults.hang_ms is not None else current_app.config["SANDBOX_HANG_MS"]
    db.session.commit()
    return Fault(latency_ms=latency, error=error, hang_ms=hang)
