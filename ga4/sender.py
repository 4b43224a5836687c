"""The GA4 destination: up to 25 events of one client per Measurement Protocol request.

GA4 answers 2xx for anything it receives (it never says an event is invalid: that is what the validation
server is for), so a 2xx is delivered and never retried; network errors, 5xx and 429 are retried until
the delivery window closes; other answers fail at once. The outbox row's target is
`<measurement id>|<client id>`: one request carries one client's events.
"""

from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import Flask

from delivery.http import Answer, HttpClient
from delivery.jsontext import dumps
from ga4 import payload
from modulekit.destination import SettingsSender, register_sender

DESTINATION = "ga4"
BATCH_SIZE = 25  # Google's limit of events per request
# GA4 takes a refund whenever it arrives (an event older than 72 h is dated 72 h back); after 30 days
# a refund no longer belongs with the purchase's reports, so delivery stops there (ours).
WINDOW = timedelta(days=30)


def delivery_window(row) -> datetime:
    """Return when delivering the row stops making sense: 30 days after it was recorded."""
    return row.created_at + WINDOW


def register(app: Flask) -> None:
    """Register GA4 with the delivery service."""
    register_sender(app, Ga4Sender, "GA4 Measurement Protocol", delivery_window)


def collect_url(base_url: str, measurement_id: str, api_secret: str, debug: bool = False) -> str:
    """Return the (debug) collect URL with its query; it holds the secret, so only scrubbed copies are stored."""
    path = "/debug/mp/collect" if debug else "/mp/collect"
    return f"{base_url.rstrip('/')}{path}?{urlencode({'measurement_id': measurement_id, 'api_secret': api_secret})}"


def post(client: HttpClient, url: str, body: dict, secret: str) -> Answer:
    """POST a Measurement Protocol body; the answer and stored URL never hold the secret."""
    text = dumps(body)
    return client.post(url, text.encode(), text, {"Content-Type": "application/json"}, secrets=[secret])


class Ga4Sender(SettingsSender):
    """Send a batch of one client's refund events to GA4 and explain the answer."""

    destination = DESTINATION
    batch_size = BATCH_SIZE

    settings_module = "ga4.settings"

    def send(self, target: str, events: list[dict], test_event_code: str | None) -> Answer:
        """POST events with the API secret read from the settings now (never stored)."""
        settings = self.settings_now()
        measurement_id, _, client = target.partition("|")
        if not settings.api_secret:
            return Answer.unsent("no API secret is configured in the GA4 settings", False)
        url = collect_url(settings.endpoint, measurement_id, settings.api_secret)
        return post(self.client, url, payload.request_body(client, events), settings.api_secret)

    def describe(self, answer: Answer) -> str:
        """Return why the answer is a failure, in one line."""
        if answer.http_status is None:
            return answer.error_message or "no answer"
        text = " ".join((answer.response_text or "").split())[:200]
        return f"HTTP {answer.http_status}" + (f": {text}" if text else "")
