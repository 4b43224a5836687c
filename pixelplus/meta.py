"""The Meta Conversions API destination: how many events go in one request, what Meta's answer means,
and how long Meta still accepts an event.

The dispatcher knows nothing about Meta beyond what this module registers: the batch size, how to send
a batch, how to classify the answer (sent, transient, permanent, or one bad event in the batch), and the
delivery window.
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask

from delivery.http import HttpClient
from delivery.registry import BAD_EVENT, DELIVERED, PERMANENT, TRANSIENT, Destination, register_destination
from extensions import db
from pixelplus.graph import GraphAnswer, GraphClient
from pixelplus.models import META_CAPI

__all__ = ["BAD_EVENT", "PERMANENT", "SENT", "TRANSIENT", "MetaCapiSender", "delivery_window", "register"]

SENT = DELIVERED

# Meta's event_time limit (DOMAIN.md §3), and 62 days for physical_store events ...
WINDOW = timedelta(days=7)
PHYSICAL_STORE_WINDOW = timedelta(days=62)
# ... less a margin, so the last try cannot reach Meta a second too late (clocks differ, requests take time).
WINDOW_MARGIN = timedelta(hours=1)

# Meta points at the offending event as `$['data'][17]` or `data[17]` in its messages.
_EVENT_INDEX = re.compile(r"data'?\]?\[(\d+)\]")


def _load_settings():
    from pixelplus.settings import load_settings

    return load_settings()


def _enabled() -> bool:
    """Whether the module is switched on (its settings)."""
    return bool(_load_settings().enabled)


def delivery_window(row) -> datetime:
    """Return when Meta stops accepting the outbox row's event: event_time + 7 days (62 for physical_store)."""
    payload = row.payload
    event_time = payload.get("event_time") if isinstance(payload, dict) else None
    if isinstance(event_time, int) and not isinstance(event_time, bool) and 0 < event_time < 2**40:
        start = datetime.fromtimestamp(event_time, UTC)
    else:
        start = row.created_at
    days = PHYSICAL_STORE_WINDOW if payload.get("action_source") == "physical_store" else WINDOW
    return start + days - WINDOW_MARGIN


def register(app: Flask) -> None:
    """Register Meta's Conversions API with the delivery service."""
    register_destination(
        app,
        Destination(
            name=META_CAPI,
            display_name="Meta Conversions API",
            sender=MetaCapiSender,
            window=delivery_window,
            enabled=_enabled,
            batch_size=MetaCapiSender.batch_size,
        ),
    )


class MetaCapiSender:
    """Send events to a pixel through the Graph API and classify Meta's answers."""

    destination = META_CAPI
    batch_size = 1000  # DOMAIN.md §3: at most 1,000 events per request

    def __init__(self, client: GraphClient | HttpClient, settings_loader: Callable[[], object] = _load_settings):
        self.client = client if isinstance(client, GraphClient) else GraphClient(http=client)
        self.settings_loader = settings_loader

    def send(self, target: str, events: list[dict], test_event_code: str | None) -> GraphAnswer:
        """POST events to pixel target with the token read from the settings now (never stored)."""
        settings = self.settings_loader()
        # The settings read must not keep a transaction open during the HTTP call.
        db.session.commit()
        token = getattr(settings, "access_token", None)
        url = f"{(settings.graph_url or '').rstrip('/')}/{settings.api_version}/{target}/events"
        if not token:
            return GraphAnswer.unsent("no access token is configured in the Pixel Plus settings", False, url)
        if not settings.graph_url or not settings.api_version:
            return GraphAnswer.unsent("the Graph API URL or version is missing in the Pixel Plus settings", False, url)
        return self.client.post_events(
            settings.graph_url, settings.api_version, target, token, events, test_event_code or None
        )

    def classify(self, answer: GraphAnswer) -> str:
        """Return sent, transient, permanent or bad_event for an answer (DOMAIN.md §3)."""
        if answer.ok:
            return SENT
        if getattr(answer, "bad_event", False):
            return BAD_EVENT
        return TRANSIENT if answer.retryable else PERMANENT

    def describe(self, answer: GraphAnswer) -> str:
        """Return the reason of a failed answer in one line, in Meta's words."""
        parts = []
        if getattr(answer, "error_code", None) is not None:
            code = f"code {answer.error_code}"
            if answer.error_subcode is not None:
                code += f"/{answer.error_subcode}"
            parts.append(code)
        if answer.http_status is not None:
            parts.append(f"HTTP {answer.http_status}")
        message = answer.error_message or "unknown error"
        user_msg = getattr(answer, "error_user_msg", None)
        if user_msg and user_msg not in message:
            message += f" — {user_msg}"
        return f"{message} ({', '.join(parts)})" if parts else message

    def bad_event_index(self, answer: GraphAnswer, count: int) -> int | None:
        """Return the index of the event Meta blamed, when its message names one within the batch."""
        for text in (getattr(answer, "error_user_msg", None), answer.error_message):
            match = _EVENT_INDEX.search(text or "")
            if match and int(match.group(1)) < count:
                return int(match.group(1))
        return None
