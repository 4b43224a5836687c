"""The webhook destination: one signed event per request, retried on the Standard Webhooks schedule.

The body is the outbox row's text, unchanged at every attempt, with the same ``webhook-id``; the
``webhook-timestamp`` is the send time, so each attempt is signed again. During a rotation both
secrets sign (two ``v1,`` signatures). 2xx is delivered; network errors, 408, 429 and 5xx are retried
(Retry-After lengthens the wait); 410 Gone fails the event and switches its endpoint off; a redirect is
refused by the HTTP client; any other answer fails at once.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from standardwebhooks.webhooks import Webhook

from core.dbtypes import utcnow
from delivery.http import Answer, HttpClient
from delivery.jsontext import dumps
from delivery.registry import DELIVERED, PERMANENT, TRANSIENT, Destination, register_destination
from extensions import db
from webhooks import endpoints
from webhooks.models import WebhookEndpoint

DESTINATION = "webhook"
# Standard Webhooks' example schedule after the first try: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0)
# The schedule adds up to about 3 days (jitter makes it a little longer): stop after 4.
WINDOW = timedelta(days=4)
GONE = 410


def _enabled() -> bool:
    """Whether any endpoint is switched on."""
    return any(endpoint.enabled for endpoint in endpoints.endpoints())


def delivery_window(row) -> datetime:
    """Return when delivering the row stops: 4 days after it was recorded (the retry schedule's end)."""
    return row.created_at + WINDOW


def register(app: Flask) -> None:
    """Register the webhook destination with the delivery service."""
    register_destination(
        app,
        Destination(
            name=DESTINATION,
            display_name="Webhooks",
            sender=WebhookSender,
            window=delivery_window,
            enabled=_enabled,
            batch_size=1,
            retry_schedule=RETRY_SCHEDULE,
        ),
    )


def signed_headers(secrets: list[str], webhook_id: str, body: str, at: datetime) -> dict[str, str]:
    """Return the Standard Webhooks headers for body sent at `at`, one signature per secret."""
    signatures = [Webhook(secret).sign(webhook_id, at, body) for secret in secrets]
    return {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


class WebhookSender:
    """Send one signed event to its endpoint and explain the answer."""

    destination = DESTINATION
    batch_size = 1

    def __init__(self, client: HttpClient, clock: Callable[[], datetime] = utcnow):
        self.client = client
        self.clock = clock

    def send(self, target: str, events: list[dict], test_event_code: str | None) -> Answer:
        """POST the event to the endpoint target names (its id), signed with its secrets read now."""
        endpoint = db.session.get(WebhookEndpoint, int(target)) if target.isdigit() else None
        if endpoint is None:
            db.session.commit()
            return Answer.unsent("the webhook endpoint was deleted", False)
        if not endpoint.enabled:
            reason = endpoint.disabled_reason or "the webhook endpoint is disabled"
            db.session.commit()
            return Answer.unsent(reason, False)
        now = self.clock()
        url, secrets = endpoint.url, endpoint.signing_secrets(now)
        db.session.commit()  # no transaction stays open during the HTTP call
        event = events[0]
        body = dumps(event)
        headers = signed_headers(secrets, str(event["id"]), body, now)
        answer = self.client.post(url, body.encode(), body, headers, secrets=secrets)
        if answer.http_status == GONE:
            endpoints.disable_gone(endpoint.id, now)
            db.session.commit()
        return answer

    def classify(self, answer: Answer) -> str:
        """Return sent for any 2xx, transient for network errors, 408, 429 and 5xx, permanent otherwise."""
        if answer.ok:
            return DELIVERED
        return TRANSIENT if answer.retryable else PERMANENT

    def describe(self, answer: Answer) -> str:
        """Return why the answer is a failure, in one line."""
        if answer.http_status == GONE:
            return "HTTP 410 Gone: the endpoint was switched off (re-enable it in the webhook settings)"
        if answer.http_status is None or answer.refused:
            return answer.error_message or "no answer"
        text = " ".join((answer.response_text or "").split())[:200]
        return f"HTTP {answer.http_status}" + (f": {text}" if text else "")

    def bad_event_index(self, answer: Answer, count: int) -> int | None:
        """One event per request: there is nothing to blame but the request."""
        return None
