"""The Graph API client: POST events to a pixel's Conversions API endpoint and read Meta's answer.

The HTTP exchange is the delivery service's (``delivery.http``: no redirects, host rules, timeouts,
truncation); this module builds Meta's request and reads Meta's answers. The access token travels in
the JSON body, never in the URL, and is scrubbed from everything the client returns (request body,
answer body, error text), so it cannot leak into attempt rows, logs or exceptions.
"""

import json
from dataclasses import dataclass, fields

from delivery.http import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Answer, HttpClient, mask_token, scrub
from delivery.jsontext import dumps, pretty

__all__ = ["GraphAnswer", "GraphClient", "dumps", "events_url", "is_retryable", "mask_token", "pretty", "scrub"]

# DOMAIN.md §3: what may be retried.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 341, 368})
# Rate limiting: retried, but after a longer wait than the schedule's next step.
THROTTLING_CODES = frozenset({4, 17, 80004, 613})
THROTTLED_WAIT_SECONDS = 300.0
TOKEN_CODE = 190
NO_PERMISSION = (100, 33)
INVALID_PARAMETER = 100
BAD_EVENT_SUBCODES = range(2804000, 2805000)


@dataclass
class GraphAnswer(Answer):
    """What one POST to the Graph API produced, read as Meta answers, with the access token nowhere in it."""

    body: dict | None = None
    events_received: int | None = None
    error_code: int | None = None
    error_subcode: int | None = None
    error_user_msg: str | None = None
    is_transient: bool | None = None

    @property
    def fbtrace_id(self) -> str | None:
        """Meta's trace id of the request."""
        return self.trace_id

    @property
    def bad_event(self) -> bool:
        """Return True when Meta rejected the batch because of an invalid event (code 100, 2804xxx)."""
        return self.error_code == INVALID_PARAMETER and self.error_subcode in BAD_EVENT_SUBCODES


def events_url(graph_url: str, api_version: str, pixel_id: str) -> str:
    """Return the Conversions API endpoint of a pixel."""
    return f"{graph_url.rstrip('/')}/{api_version}/{pixel_id}/events"


def is_retryable(http_status: int | None, error: dict | None) -> bool:
    """Return True when DOMAIN.md §3 allows the same request to be sent again."""
    if http_status is None:
        return True  # network error or timeout
    if error:
        code = _int(error.get("code"))
        if code in (TOKEN_CODE, INVALID_PARAMETER):
            return False
        if error.get("is_transient") is True or code in TRANSIENT_CODES or code in THROTTLING_CODES:
            return True
    return http_status >= 500


class GraphClient:
    """A client for the Graph API's events endpoint, on the delivery service's HTTP client."""

    def __init__(
        self,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        http: HttpClient | None = None,
        allowed_hosts=(),
    ):
        self.http = http or HttpClient(connect_timeout, read_timeout, allowed_hosts)

    def close(self) -> None:
        """Close the pooled connections."""
        self.http.close()

    def post_events(
        self,
        graph_url: str,
        api_version: str,
        pixel_id: str,
        access_token: str,
        events: list[dict],
        test_event_code: str | None,
    ) -> GraphAnswer:
        """Send events to a pixel in one request and return Meta's answer, classified."""
        url = events_url(graph_url, api_version, pixel_id)
        body: dict = {"data": list(events)}
        if test_event_code:
            body["test_event_code"] = test_event_code
        wire_body = dumps({**body, "access_token": access_token}).encode("utf-8")
        answer = self.http.post(
            url,
            wire_body,
            dumps(body),
            {"Content-Type": "application/json; charset=utf-8"},
            secrets=(access_token,),
        )
        return read_answer(answer)


def read_answer(answer: Answer) -> GraphAnswer:
    """Read Meta's success or error body from an HTTP answer into a GraphAnswer."""
    base = {f.name: getattr(answer, f.name) for f in fields(Answer)}
    if answer.http_status is None or answer.refused:
        return GraphAnswer(**base)
    status, text = answer.http_status, answer.response_text or ""
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    body = parsed if isinstance(parsed, dict) else None
    error = body.get("error") if body and isinstance(body.get("error"), dict) else None
    base["trace_id"] = _str((error or {}).get("fbtrace_id") or (body or {}).get("fbtrace_id"))
    if 200 <= status < 300 and body is not None and error is None:
        base.update(ok=True, retryable=False, error_message=None)
        return GraphAnswer(**base, body=body, events_received=_int(body.get("events_received")))
    if error is not None:
        message = str(error.get("message") or "unknown error")
        user_msg = error.get("error_user_msg")
        is_transient = error.get("is_transient") if isinstance(error.get("is_transient"), bool) else None
    else:
        snippet = text.strip().replace("\n", " ")[:200]
        message = f"HTTP {status}" + (f": {snippet}" if snippet else "")
        user_msg = None
        is_transient = None
    code = _int((error or {}).get("code"))
    if code in THROTTLING_CODES:
        base["retry_after"] = max(answer.retry_after or 0.0, THROTTLED_WAIT_SECONDS)
    base.update(ok=False, error_message=message, retryable=is_retryable(status, error))
    return GraphAnswer(
        **base,
        body=body,
        error_code=code,
        error_subcode=_int((error or {}).get("error_subcode")),
        error_user_msg=str(user_msg) if user_msg else None,
        is_transient=is_transient,
    )


def _int(value) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _str(value) -> str | None:
    return str(value) if value is not None else None
