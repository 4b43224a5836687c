"""The tester API of the Google sandboxes: what GA4 and Google Ads received, their faults, Ads' conversions."""

from datetime import UTC, datetime

from flask import Blueprint, jsonify
from sqlalchemy import delete, select

from core.access import protect_api_blueprint, requires
from core.apierrors import ApiError, json_body, register_json_errors
from core.dbtypes import money
from extensions import db
from sandbox.faults import META, clean_faults, current_faults, set_faults
from sandbox.ga4.models import Ga4Hit
from sandbox.googleads.models import AdsAdjustment, AdsConversion, register_conversions
from sandbox.googleads.rules import parse_date_time
from sandbox.webhooks.models import WebhookHit

bp = Blueprint("sandbox_google_api", __name__, url_prefix="/sandbox/api")
protect_api_blueprint(bp)
register_json_errors(bp)

# URL segment -> the service's name (the destination name the modules register); Meta's faults are at
# /sandbox/api/faults, without a segment (its first address, kept).
SERVICES = {"meta": META, "ga4": "ga4", "googleads": "google_ads", "webhooks": "webhook"}
RECEIVED_MODELS = {"ga4": Ga4Hit, "google_ads": AdsAdjustment, "webhook": WebhookHit}
MAX_CONVERSIONS = 10_000


def received_json(destination: str, after: int | None, limit: int | None) -> list[dict]:
    """Return what the GA4 or Google Ads sandbox received, oldest first (GET /sandbox/api/received?destination=)."""
    model = RECEIVED_MODELS[destination]
    query = select(model).order_by(model.id)
    if after is not None:
        query = query.where(model.id > after)
    if limit is not None:
        query = query.limit(limit)
    return [row.to_json() for row in db.session.scalars(query)]


def _service(segment: str) -> str:
    if segment not in SERVICES:
        raise ApiError(404, "not_found", "unknown sandbox service; use ga4, googleads or webhooks")
    return SERVICES[segment]


@bp.get("/faults", defaults={"segment": "meta"})
@bp.get("/<segment>/faults")
@requires("sandbox")
def faults(segment: str):
    """Show the faults injected into the service's next requests ({} when none)."""
    current = current_faults(_service(segment))
    return jsonify(current.to_json() if current is not None else {})


@bp.put("/faults", defaults={"segment": "meta"})
@bp.put("/<segment>/faults")
@requires("sandbox")
def put_faults(segment: str):
    """Set the faults for the service's next requests; {} clears them."""
    service = _service(segment)
    clean, problems = clean_faults(service, json_body())
    if problems:
        raise ApiError(422, "invalid", "the faults are not valid", problems)
    current = set_faults(service, clean)
    db.session.commit()
    return jsonify(current.to_json())


@bp.delete("/faults", defaults={"segment": "meta"})
@bp.delete("/<segment>/faults")
@requires("sandbox")
def clear_faults(segment: str):
    """Clear the service's faults."""
    current = set_faults(_service(segment), {})
    db.session.commit()
    return jsonify(current.to_json())


@bp.delete("/<segment>/received")
@requires("sandbox.manage")
def forget_received(segment: str):
    """Forget what the service received (Google Ads: also the adjustments applied to its conversions)."""
    model = RECEIVED_MODELS[_service(segment)]
    deleted = db.session.execute(delete(model)).rowcount
    db.session.commit()
    return jsonify({"deleted": deleted})


@bp.get("/googleads/conversions")
@requires("sandbox")
def conversions():
    """List the conversions the Google Ads sandbox knows."""
    rows = db.session.scalars(select(AdsConversion).order_by(AdsConversion.id))
    return jsonify([row.to_json() for row in rows])


@bp.put("/googleads/conversions")
@requires("sandbox")
def put_conversions():
    """Register conversions by order id: {customer_id, conversion_action_id, conversions: [{order_id,
    conversion_date_time, value, currency}]}; an order already known is updated."""
    body = json_body()
    customer_id, action_id = body.get("customer_id"), body.get("conversion_action_id")
    problems = account_problems(customer_id, action_id)
    items = body.get("conversions")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_CONVERSIONS:
        problems["conversions"] = f"must be a list of 1 to {MAX_CONVERSIONS:,} conversions"
        items = []
    clean = []
    for position, item in enumerate(items):
        parsed, problem = _conversion(item)
        if problem:
            problems[f"conversions[{position}]"] = problem
        clean.append(parsed)
    if problems:
        raise ApiError(422, "invalid", "the conversions are not valid", problems)
    register_conversions(customer_id, action_id, clean)
    db.session.commit()
    return jsonify({"registered": len(clean)})


def account_problems(customer_id, action_id) -> dict[str, str]:
    """Return what is wrong with a customer id and conversion action id ({} when both are fine)."""
    problems = {}
    if not (isinstance(customer_id, str) and _digits(customer_id) and len(customer_id) == 10):
        problems["customer_id"] = "must be 10 digits, no dashes"
    if not (isinstance(action_id, str) and _digits(action_id) and len(action_id) <= 20):
        problems["conversion_action_id"] = "must be digits (at most 20)"
    return problems


def conversion_problem(customer_id, action_id, item) -> tuple[dict, str | None]:
    """Return (clean conversion, None) or ({}, what is wrong), account included (the sandbox page's form)."""
    problems = account_problems(customer_id, action_id)
    if problems:
        return {}, "; ".join(f"{name} {message}" for name, message in problems.items())
    return _conversion(item)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _conversion(item) -> tuple[dict, str | None]:
    """Return (clean conversion, None) or ({}, what is wrong with it)."""
    if not isinstance(item, dict):
        return {}, "must be an object"
    order_id = item.get("order_id")
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= 64 or not order_id.isprintable():
        return {}, "order_id must be text of 1 to 64 printable characters"
    at = _time(item.get("conversion_date_time"))
    if at is None:
        return {}, "conversion_date_time must be ISO 8601 with a time zone or 'yyyy-mm-dd hh:mm:ss+hh:mm'"
    value, currency = item.get("value"), item.get("currency")
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int | str) or not _amount(value):
            return {}, 'value must be a non-negative amount as a string or whole number, e.g. "67.56"'
        value = money(value)
    if currency is not None and not (
        isinstance(currency, str) and len(currency) == 3 and currency.isascii() and currency.isalpha()
    ):
        return {}, "currency must be an ISO 4217 code"
    return {"order_id": order_id, "at": at, "value": value, "currency": currency and currency.upper()}, None


def _amount(value) -> bool:
    text = str(value)
    parts = text.split(".")
    return len(parts) <= 2 and all(p.isascii() and p.isdigit() for p in parts) and len(text) <= 15


def _time(value) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    parsed = parse_date_time(value)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return None
    return parsed.astimezone(UTC)
