"""The emulated `POST /sandbox/googleads/<version>/customers/<id>:uploadConversionAdjustments`.

Answers in Google's REST shapes only: request-level errors as `{"error": {code, message, status,
details}}`, row errors inside an HTTP 200 `partialFailureError` (shared/DOMAIN.md §4.1).
"""

import json
import re
import secrets
import threading
import time

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from core.access import protect_api_blueprint, public
from core.dbtypes import utcnow
from core.inputs import strict_loads
from extensions import db
from sandbox.faults import draw_fault
from sandbox.googleads.models import AdsAdjustment, AdsConversion
from sandbox.googleads.rules import MAX_ADJUSTMENTS, MESSAGES, Conversion, category, judge
from sandbox.secrets_shown import clean_json

bp = Blueprint("sandbox_googleads", __name__, url_prefix="/sandbox/googleads")
protect_api_blueprint(bp)  # deny by default: every view here declares @public

_CUSTOMER = re.compile(r"\d{10}")
# Judging reads the conversions' adjustments and then writes new ones: two uploads for the same order
# must not interleave, or both could pass the "later than the previous adjustment" rule.
_judging = threading.Lock()


class AdsError(Exception):
    """A request-level error answer: HTTP status, gRPC status name, message, optional GoogleAdsFailure errors."""

    def __init__(self, http_status: int, status: str, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.http_status, self.status, self.message, self.errors = http_status, status, message, errors


@bp.post("/<version>/customers/<customer_id>:uploadConversionAdjustments")
@public
def upload(version: str, customer_id: str):
    """Judge and apply the adjustments; answer results and the partial failure error."""
    request_id = secrets.token_urlsafe(16)
    try:
        failure = _fault(version)
        if failure is not None:
            return failure
        _check(version, customer_id)
        body = _body()
        rows = body.get("conversionAdjustments")
        if not isinstance(rows, list) or not rows:
            raise _invalid(
                version, "REQUIRED", "The required field was not present.", [("conversion_adjustments", None)]
            )
        if body.get("partialFailure") is not True:
            raise _invalid(
                version,
                "PARTIAL_FAILURE_MODE_REQUIRED",
                "The partial failure field must be set to true for this method.",
                [("partial_failure", None)],
                category_name="partialFailureError",
            )
        if len(rows) > MAX_ADJUSTMENTS:
            raise _invalid(
                version,
                "TOO_MANY_ADJUSTMENTS_IN_REQUEST",
                MESSAGES["TOO_MANY_ADJUSTMENTS_IN_REQUEST"],
                [("conversion_adjustments", None)],
            )
        validate_only = body.get("validateOnly") is True
        with _judging:
            answer = _judge_and_store(version, customer_id, rows, validate_only, request_id)
    except AdsError as error:
        return _error(error, request_id)
    return _json(answer, 200, request_id)


def _fault(version: str) -> Response | None:
    fault = draw_fault("google_ads")
    if fault.latency_ms or fault.hang_ms:
        time.sleep((fault.latency_ms + fault.hang_ms) / 1000)
    if fault.error == "unavailable":
        return _error(AdsError(503, "UNAVAILABLE", "The service is currently unavailable."), "")
    if fault.error == "server":
        return _error(AdsError(500, "INTERNAL", "Internal error encountered."), "")
    if fault.error == "auth":
        return _error(_unauthenticated(), "")
    return None


def _check(version: str, customer_id: str) -> None:
    """Refuse an unserved version, a bad bearer token and a malformed customer id, as Google does."""
    if version not in current_app.config["SANDBOX_GOOGLEADS_VERSIONS"]:
        raise AdsError(
            404,
            "NOT_FOUND",
            f"Version {version[:20]} is not served; use one of "
            + ", ".join(current_app.config["SANDBOX_GOOGLEADS_VERSIONS"])
            + ".",
        )
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or token.strip() not in current_app.config["SANDBOX_GOOGLEADS_TOKENS"]:
        raise _unauthenticated()
    login = request.headers.get("login-customer-id")
    if login is not None and not _CUSTOMER.fullmatch(login):
        raise _invalid(
            version,
            "INVALID_LOGIN_CUSTOMER_ID",
            "The login-customer-id header must be 10 digits.",
            [],
            category_name="authenticationError",
            http_status=401,
            status="UNAUTHENTICATED",
        )
    if not _CUSTOMER.fullmatch(customer_id):
        raise _invalid(
            version,
            "INVALID_CUSTOMER_ID",
            "The customer ID must be 10 digits without dashes.",
            [("customer_id", None)],
            category_name="requestError",
        )


def _unauthenticated() -> AdsError:
    return AdsError(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
        "valid authentication credential.",
    )


def _body() -> dict:
    try:
        body = strict_loads(request.get_data(cache=False).decode("utf-8"))
    except (ValueError, RecursionError):
        raise AdsError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise AdsError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. The body must be an object.")
    return body


def _judge_and_store(version: str, customer_id: str, rows: list, validate_only: bool, request_id: str) -> dict:
    now = utcnow()
    conversions = _known_conversions(customer_id, rows)
    verdicts = judge(rows, customer_id, conversions, now)
    job_id = str(secrets.randbelow(2**62) + 1)
    login = request.headers.get("login-customer-id")
    results, errors = [], []
    for row, verdict in zip(rows, verdicts, strict=True):
        db.session.add(
            AdsAdjustment(
                received_at=now,
                job_id=job_id,
                customer_id=customer_id,
                login_customer_id=login,
                validate_only=validate_only,
                conversion_id=verdict.conversion.id if verdict.conversion else None,
                applied=verdict.error is None and not validate_only,
                adjustment_type=verdict.adjustment_type,
                adjusted_at=verdict.adjusted_at,
                adjusted_value=verdict.adjusted_value,
                error_code=verdict.error,
                adjustment=clean_json(row) if isinstance(row, dict) else {"raw": clean_json(row)},
            )
        )
        if verdict.error is not None:
            results.append({})
            path = [("conversion_adjustments", verdict.index)] + [(name, None) for name in verdict.field_path]
            errors.append(_failure_error(verdict.error, MESSAGES[verdict.error], path))
        else:
            results.append(
                {
                    "conversionAction": row["conversionAction"],
                    "adjustmentDateTime": row["adjustmentDateTime"],
                    "adjustmentType": verdict.adjustment_type,
                    "orderId": verdict.order_id,
                }
            )
    db.session.commit()
    answer: dict = {}
    if errors:
        answer["partialFailureError"] = {
            "code": 3,
            "message": ", ".join(f"{e['message']}, at {_path_text(e)}" for e in errors),
            "details": [_failure(version, errors, request_id)],
        }
    answer["results"] = results
    answer["jobId"] = job_id
    return answer


def _known_conversions(customer_id: str, rows: list) -> dict[tuple[str, str], Conversion]:
    """Load the conversions the rows name (one query) and the adjustments applied to them (one more)."""
    orders = {row.get("orderId") for row in rows if isinstance(row, dict) and isinstance(row.get("orderId"), str)}
    if not orders:
        return {}
    found = db.session.scalars(
        select(AdsConversion).where(AdsConversion.customer_id == customer_id, AdsConversion.order_id.in_(orders))
    ).all()
    by_id = {c.id: Conversion(id=c.id, converted_at=c.converted_at) for c in found}
    applied = db.session.execute(
        select(AdsAdjustment.conversion_id, AdsAdjustment.adjustment_type, AdsAdjustment.adjusted_at).where(
            AdsAdjustment.conversion_id.in_(list(by_id) or [0]), AdsAdjustment.applied.is_(True)
        )
    )
    for conversion_id, kind, at in applied:
        by_id[conversion_id].adjustments.append((kind, at))
    return {(c.conversion_action_id, c.order_id): by_id[c.id] for c in found}


def _failure_error(
    code: str, message: str, path: list[tuple[str, int | None]], category_name: str | None = None
) -> dict:
    elements = [{"fieldName": name, **({"index": index} if index is not None else {})} for name, index in path]
    error = {"errorCode": {category_name or category(code): code}, "message": message}
    if elements:
        error["location"] = {"fieldPathElements": elements}
    return error


def _failure(version: str, errors: list[dict], request_id: str) -> dict:
    return {
        "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
        "errors": errors,
        "requestId": request_id,
    }


def _path_text(error: dict) -> str:
    parts = []
    for element in error.get("location", {}).get("fieldPathElements", []):
        index = f"[{element['index']}]" if "index" in element else ""
        parts.append(f"{element['fieldName']}{index}")
    return ".".join(parts)


def _invalid(version, code, message, path, category_name=None, http_status=400, status="INVALID_ARGUMENT") -> AdsError:
    error = AdsError(http_status, status, "Request contains an invalid argument.")
    error.errors = [_failure_error(code, message, path, category_name)]
    error.version = version
    return error


def _error(error: AdsError, request_id: str) -> Response:
    body: dict = {"code": error.http_status, "message": error.message, "status": error.status}
    if error.errors:
        body["details"] = [_failure(getattr(error, "version", "v26"), error.errors, request_id)]
    return _json({"error": body}, error.http_status, request_id)


def _json(body: dict, status: int, request_id: str) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    if request_id:
        response.headers["request-id"] = request_id
    return response
