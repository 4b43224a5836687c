"""'Send test event': a refund event sent to GA4's validation server, whose validationMessages are shown."""

import json
from dataclasses import asdict, dataclass

from flask import current_app

from core.dbtypes import utcnow
from delivery.dispatcher import make_client
from ga4 import payload
from ga4.sender import collect_url, post
from ga4.settings import Ga4Settings


class CannotSendTestEvent(Exception):
    """The test event cannot be sent with these settings; the message says what to fix."""


@dataclass(frozen=True)
class TestEventResult:
    """What the validation server answered."""

    ok: bool
    http_status: int | None
    messages: list
    error: str | None
    body: dict

    def as_dict(self) -> dict:
        """Return the result as the page and API show it."""
        return asdict(self)


def send_test_event(settings: Ga4Settings) -> TestEventResult:
    """Validate one sample refund event at the debug endpoint of the configured region or base URL."""
    if not settings.configured:
        raise CannotSendTestEvent("Enter and save the measurement id and API secret first.")
    now = utcnow()
    event = {
        "name": payload.EVENT_NAME,
        "params": {"transaction_id": "TEST-REFUND", "value": 1, "currency": "EUR"},
        "timestamp_micros": payload.timestamp_micros(now),
    }
    body = payload.request_body(f"555.{int(now.timestamp())}", [event])
    url = collect_url(settings.endpoint, settings.measurement_id, settings.api_secret, debug=True)
    client = make_client(current_app._get_current_object())
    try:
        answer = post(client, url, body, settings.api_secret)
    finally:
        client.close()
    messages, error = [], answer.error_message
    if answer.ok:
        try:
            messages = json.loads(answer.response_text or "{}").get("validationMessages", [])
        except (ValueError, AttributeError):
            error = "the validation server's answer is not JSON"
    elif error is None:
        error = f"HTTP {answer.http_status}"
    return TestEventResult(answer.ok and error is None, answer.http_status, messages, error, body)
