"""The Google Ads destination: up to 2,000 adjustments of one customer per uploadConversionAdjustments.

Google answers HTTP 200 with `results` and, when some rows failed, a `partialFailureError` whose errors
name the failed rows by index: those rows fail with Google's error, the others are sent
(``row_failures``). A request-level error fails or retries the whole batch: 429 and 5xx are retried,
401/403 and other 4xx fail at once.
"""

import json
from datetime import datetime

from flask import Flask
from sqlalchemy import select

from delivery.http import Answer
from delivery.jsontext import dumps
from extensions import db
from googleads import payload
from googleads.oauth import TokenUnavailable, bearer_token
from modulekit.destination import SettingsSender, register_sender

DESTINATION = "google_ads"
BATCH_SIZE = 2000  # Google's limit of adjustments per request (TOO_MANY_ADJUSTMENTS_IN_REQUEST)


def delivery_window(row) -> datetime:
    """Return when Google stops accepting the adjustment: 54 days after the purchase."""
    from shop.models import Order

    purchased = db.session.scalar(select(Order.created_at).where(Order.id == row.order_id)) if row.order_id else None
    return (purchased or row.created_at) + payload.CONVERSION_WINDOW


def register(app: Flask) -> None:
    """Register Google Ads with the delivery service."""
    register_sender(app, AdsSender, "Google Ads adjustments", delivery_window)


def upload_url(settings, customer_id: str) -> str:
    """Return the uploadConversionAdjustments URL of customer_id."""
    return f"{settings.base_url.rstrip('/')}/{settings.api_version}/customers/{customer_id}:uploadConversionAdjustments"


class AdsSender(SettingsSender):
    """Send a batch of adjustments to Google Ads and explain the answer, row by row."""

    destination = DESTINATION
    batch_size = BATCH_SIZE

    settings_module = "googleads.settings"

    def send(self, target: str, events: list[dict], test_event_code: str | None) -> Answer:
        """POST the adjustments with a bearer token obtained now (never stored)."""
        settings = self.settings_now()
        url = upload_url(settings, target)
        if not settings.oauth_refresh_token:
            return Answer.unsent("no OAuth refresh token is configured in the Google Ads settings", False, url)
        try:
            token = bearer_token(settings, self.client)
        except TokenUnavailable as error:
            return Answer.unsent(str(error), error.retryable, url)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        if settings.login_customer_id:
            headers["login-customer-id"] = settings.login_customer_id
        text = dumps(payload.request_body(events))
        secrets = [token, settings.oauth_refresh_token, settings.oauth_client_secret]
        return self.client.post(url, text.encode(), text, headers, secrets=secrets)

    def describe(self, answer: Answer) -> str:
        """Return why the request failed, in Google's words."""
        if answer.http_status is None:
            return answer.error_message or "no answer"
        error = _json(answer.response_text).get("error")
        if not isinstance(error, dict):
            return f"HTTP {answer.http_status}"
        codes = [_code(e) for e in _failure_errors(error.get("details"))]
        detail = f" [{', '.join(codes)}]" if codes else ""
        return f"{error.get('status', 'ERROR')}: {error.get('message', '')}{detail} (HTTP {answer.http_status})"

    def row_failures(self, answer: Answer, count: int) -> dict[int, str]:
        """Return {row index: Google's error} from a 200 answer's partialFailureError."""
        failure = _json(answer.response_text).get("partialFailureError")
        if not isinstance(failure, dict):
            return {}
        found: dict[int, str] = {}
        for error in _failure_errors(failure.get("details")):
            elements = (error.get("location") or {}).get("fieldPathElements") or []
            index = next((e.get("index") for e in elements if e.get("fieldName") == "conversion_adjustments"), None)
            if isinstance(index, int) and 0 <= index < count:
                message = f"{_code(error)}: {error.get('message', '')}"
                found[index] = f"{found[index]}; {message}" if index in found else message
        return found


def _json(text: str | None) -> dict:
    try:
        body = json.loads(text or "")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _failure_errors(details) -> list[dict]:
    errors = []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and isinstance(detail.get("errors"), list):
            errors += [e for e in detail["errors"] if isinstance(e, dict)]
    return errors


def _code(error: dict) -> str:
    codes = error.get("errorCode")
    return next(iter(codes.values()), "ERROR") if isinstance(codes, dict) and codes else "ERROR"
