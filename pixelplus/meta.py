"""The Meta Conversions API sender: how many events go in one request, and what Meta's answer means.

The dispatcher knows nothing about Meta beyond what this sender tells it: the batch size, how to send
a batch, and how to classify the answer (sent, transient, permanent, or one bad event in the batch).
"""

import re
from collections.abc import Callable

from extensions import db
from pixelplus.graph import GraphAnswer, GraphClient
from pixelplus.models import META_CAPI

# What the dispatcher does with an answer.
SENT, TRANSIENT, PERMANENT, BAD_EVENT = "sent", "transient", "permanent", "bad_event"

# Meta points at the offending event as `$['data'][17]` or `data[17]` in its messages.
_EVENT_INDEX = re.compile(r"data'?\]?\[(\d+)\]")


def _load_settings():
    from pixelplus.settings import load_settings

    return load_settings()


class MetaCapiSender:
    """Send events to a pixel through the Graph API and classify Meta's answers."""

    destination = META_CAPI
    batch_size = 1000  # DOMAIN.md §3: at most 1,000 events per request

    def __init__(self, client: GraphClient, settings_loader: Callable[[], object] = _load_settings):
        self.client = client
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
        if answer.bad_event:
            return BAD_EVENT
        return TRANSIENT if answer.retryable else PERMANENT

    def describe(self, answer: GraphAnswer) -> str:
        """Return the reason of a failed answer in one line, in Meta's words."""
        parts = []
        if answer.error_code is not None:
            code = f"code {answer.error_code}"
            if answer.error_subcode is not None:
                code += f"/{answer.error_subcode}"
            parts.append(code)
        if answer.http_status is not None:
            parts.append(f"HTTP {answer.http_status}")
        message = answer.error_message or "unknown error"
        if answer.error_user_msg and answer.error_user_msg not in message:
            message += f" — {answer.error_user_msg}"
        return f"{message} ({', '.join(parts)})" if parts else message

    def bad_event_index(self, answer: GraphAnswer, count: int) -> int | None:
        """Return the index of the event Meta blamed, when its message names one within the batch."""
        for text in (answer.error_user_msg, answer.error_message):
            match = _EVENT_INDEX.search(text or "")
            if match and int(match.group(1)) < count:
                return int(match.group(1))
        return None
