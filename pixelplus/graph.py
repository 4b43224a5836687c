"""The Graph API HTTP client: POST events to a pixel's Conversions API endpoint and read Meta's answer.

One `GraphClient` holds one pooled `requests.Session` with explicit connect and read timeouts. The
access token travels in the JSON body, never in the URL, and is scrubbed from everything the client
returns (request body, answer body, error text), so it cannot leak into attempt rows, logs or exceptions.
"""

import json
import time
from dataclasses import dataclass
from decimal import Decimal

import requests
from requests.adapters import HTTPAdapter

DEFAULT_CONNECT_TIMEOUT = 1.0
# Meta suggests ~1.5 s and most answers take under 0.6 s; a batch of 1,000 events needs some headroom.
DEFAULT_READ_TIMEOUT = 3.0

# DOMAIN.md §3: what may be retried.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 341, 368})
TOKEN_CODE = 190
NO_PERMISSION = (100, 33)
INVALID_PARAMETER = 100
BAD_EVENT_SUBCODES = range(2804000, 2805000)


@dataclass
class GraphAnswer:
    """What one POST to the Graph API produced, with the access token nowhere in it."""

    ok: bool
    http_status: int | None
    body: dict | None
    events_received: int | None
    fbtrace_id: str | None
    error_message: str | None
    error_code: int | None
    error_subcode: int | None
    retryable: bool
    duration_ms: int
    request_url: str
    request_body: str
    error_user_msg: str | None = None
    is_transient: bool | None = None
    response_text: str | None = None

    @classmethod
    def unsent(cls, message: str, retryable: bool, request_url: str = "") -> "GraphAnswer":
        """An answer for a request that never reached the Graph API (refused before, or crashed)."""
        return cls(
            ok=False,
            http_status=None,
            body=None,
            events_received=None,
            fbtrace_id=None,
            error_message=message,
            error_code=None,
            error_subcode=None,
            retryable=retryable,
            duration_ms=0,
            request_url=request_url,
            request_body="",
        )

    @property
    def bad_event(self) -> bool:
        """Return True when Meta rejected the batch because of an invalid event (code 100, 2804xxx)."""
        return self.error_code == INVALID_PARAMETER and self.error_subcode in BAD_EVENT_SUBCODES


def mask_token(token: str | None) -> str:
    """Return the token shown as its first and last four characters (``EAAB…9x2Q``)."""
    if not token:
        return ""
    if len(token) <= 10:
        return "…"
    return f"{token[:4]}…{token[-4:]}"


def scrub(text: str | None, token: str | None) -> str | None:
    """Return text with every occurrence of token replaced by its mask."""
    if text is None or not token:
        return text
    return text.replace(token, mask_token(token))


def dumps(value, indent: int | None = None, _level: int = 0) -> str:
    """Serialize JSON exactly: Decimals become JSON numbers digit for digit, never via float.

    With indent, pretty-print (for the sent-events log); without, one line as sent.
    """
    if isinstance(value, dict | list | tuple) and value:
        if isinstance(value, dict):
            parts = [
                f"{json.dumps(str(k), ensure_ascii=False)}: {dumps(v, indent, _level + 1)}" for k, v in value.items()
            ]
            opening, closing = "{", "}"
        else:
            parts = [dumps(v, indent, _level + 1) for v in value]
            opening, closing = "[", "]"
        if indent is None:
            return opening + ", ".join(parts) + closing
        inner = "\n" + " " * (indent * (_level + 1))
        return opening + inner + ("," + inner).join(parts) + "\n" + " " * (indent * _level) + closing
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send a non-finite number: {value}")
        return str(value)  # Decimal's str is always a valid JSON number (e.g. "12.30", "1E+3")
    return json.dumps(value, ensure_ascii=False)


def pretty(text: str | None) -> str:
    """Return a stored JSON text pretty-printed with its numbers unchanged, or the text itself if not JSON."""
    if not text:
        return ""
    try:
        return dumps(json.loads(text, parse_float=Decimal), indent=2)
    except ValueError:
        return text


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
        if error.get("is_transient") is True or code in TRANSIENT_CODES:
            return True
    return http_status >= 500


class GraphClient:
    """A pooled HTTP client for the Graph API's events endpoint."""

    def __init__(self, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, read_timeout: float = DEFAULT_READ_TIMEOUT):
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.session = requests.Session()
        # Retries are the dispatcher's job (with backoff and bookkeeping), never urllib3's.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": "pixelplus-shop/1.0", "Accept": "application/json"})

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

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
        request_body = dumps(body)
        wire_body = dumps({**body, "access_token": access_token}).encode("utf-8")
        started = time.monotonic()
        try:
            response = self.session.post(
                url,
                data=wire_body,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=(self.connect_timeout, self.read_timeout),
            )
        except requests.RequestException as error:
            return GraphAnswer(
                ok=False,
                http_status=None,
                body=None,
                events_received=None,
                fbtrace_id=None,
                error_message=scrub(_network_message(error), access_token),
                error_code=None,
                error_subcode=None,
                retryable=True,
                duration_ms=_ms_since(started),
                request_url=url,
                request_body=request_body,
            )
        duration_ms = _ms_since(started)
        text = scrub(response.text, access_token)
        return _answer_from(response.status_code, text, url, request_body, duration_ms)


def _answer_from(status: int, text: str, url: str, request_body: str, duration_ms: int) -> GraphAnswer:
    """Parse Meta's success or error body into a GraphAnswer."""
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    body = parsed if isinstance(parsed, dict) else None
    error = body.get("error") if body and isinstance(body.get("error"), dict) else None
    fbtrace_id = (error or {}).get("fbtrace_id") or (body or {}).get("fbtrace_id")
    if 200 <= status < 300 and body is not None and error is None:
        received = _int(body.get("events_received"))
        return GraphAnswer(
            ok=True,
            http_status=status,
            body=body,
            events_received=received,
            fbtrace_id=_str(fbtrace_id),
            error_message=None,
            error_code=None,
            error_subcode=None,
            retryable=False,
            duration_ms=duration_ms,
            request_url=url,
            request_body=request_body,
            response_text=text,
        )
    if error is not None:
        message = str(error.get("message") or "unknown error")
        user_msg = error.get("error_user_msg")
        is_transient = error.get("is_transient") if isinstance(error.get("is_transient"), bool) else None
    else:
        snippet = (text or "").strip().replace("\n", " ")[:200]
        message = f"HTTP {status}" + (f": {snippet}" if snippet else "")
        user_msg = None
        is_transient = None
    return GraphAnswer(
        ok=False,
        http_status=status,
        body=body,
        events_received=None,
        fbtrace_id=_str(fbtrace_id),
        error_message=message,
        error_code=_int((error or {}).get("code")),
        error_subcode=_int((error or {}).get("error_subcode")),
        retryable=is_retryable(status, error),
        duration_ms=duration_ms,
        request_url=url,
        request_body=request_body,
        error_user_msg=str(user_msg) if user_msg else None,
        is_transient=is_transient,
        response_text=text,
    )


def _network_message(error: requests.RequestException) -> str:
    """Describe a network failure in one line (the URL never holds the token)."""
    if isinstance(error, requests.Timeout):
        kind = "connect timeout" if isinstance(error, requests.ConnectTimeout) else "read timeout"
    elif isinstance(error, requests.ConnectionError):
        kind = "connection error"
    else:
        kind = "request error"
    return f"{kind}: {type(error).__name__}: {error}"[:500]


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _int(value) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _str(value) -> str | None:
    return str(value) if value is not None else None
