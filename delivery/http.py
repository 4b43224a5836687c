"""The delivery HTTP client: one POST per batch, never a redirect, only to hosts the rules allow.

One `HttpClient` holds one pooled `requests.Session` with explicit connect and read timeouts. It checks
the URL's host before every request (``delivery.hosts``), opens connections only to addresses checked
the same way (``delivery.pinning``: a DNS answer that changes in between is refused), never follows a
redirect (a 3xx is a permanent failure naming the refused Location's host: the body may carry a secret),
reads at most ``MAX_ANSWER_BYTES`` of an answer, and scrubs the secrets it was given from everything it returns, so
they cannot leak into attempt rows, logs or exceptions.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests

from core.dbtypes import utcnow
from delivery.hosts import HostRefused, HostUnresolved, check_url, connect_addresses
from delivery.pinning import PinnedAdapter

DEFAULT_CONNECT_TIMEOUT = 1.0
DEFAULT_READ_TIMEOUT = 3.0
# What is read of an answer (enough for any error a destination explains itself with) ...
MAX_ANSWER_BYTES = 64 * 1024
# ... and what is stored of it in attempt rows and on the event (shown as text only).
STORED_ANSWER_CHARS = 4096
# Headers kept of a request or an answer, and of each value.
MAX_HEADERS, MAX_HEADER_CHARS = 50, 500
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie")


@dataclass
class Answer:
    """What one request to a destination produced, with no secret in it."""

    ok: bool = False
    http_status: int | None = None
    request_url: str = ""
    request_body: str = ""
    response_text: str | None = None  # scrubbed, at most MAX_ANSWER_BYTES
    duration_ms: int = 0
    error_message: str | None = None
    retryable: bool = False
    refused: bool = False  # refused by the client itself (host rules, a redirect): never retried
    retry_after: float | None = None  # seconds the destination asked us to wait
    trace_id: str | None = None  # the destination's request id, for support
    request_headers: dict[str, str] | None = None  # as sent, Authorization and secrets masked
    response_headers: dict[str, str] | None = None  # as answered, secrets masked

    @classmethod
    def unsent(cls, message: str, retryable: bool, request_url: str = "", refused: bool = False) -> "Answer":
        """An answer for a request that never reached the destination (refused before, or crashed)."""
        return cls(error_message=message, retryable=retryable, request_url=request_url, refused=refused)

    @property
    def stored_text(self) -> str | None:
        """The answer as attempt rows and events keep it: truncated to STORED_ANSWER_CHARS."""
        return truncate(self.response_text)


def truncate(text: str | None, limit: int = STORED_ANSWER_CHARS) -> str | None:
    """Return text cut to limit characters, saying so."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"… [truncated, {len(text)} characters]"


def mask_token(token: str | None) -> str:
    """Return a secret shown as its first and last four characters (``EAAB…9x2Q``)."""
    if not token:
        return ""
    if len(token) <= 10:
        return "…"
    return f"{token[:4]}…{token[-4:]}"


def shown_headers(headers, secrets: Iterable[str] = ()) -> dict[str, str]:
    """Return headers as attempt rows keep them: at most MAX_HEADERS, values cut, credentials masked.

    An Authorization (or Proxy-Authorization) value keeps only its scheme and the token's mask
    (``Bearer ya29…9x2Q``); every secret the sender named is masked wherever it appears. A webhook's
    ``webhook-signature`` is an HMAC, not its secret, and is kept: a receiver's developer needs it.
    """
    shown: dict[str, str] = {}
    for name, value in list(headers.items())[:MAX_HEADERS]:
        name, value = str(name), str(value)
        if name.lower() in CREDENTIAL_HEADERS:
            scheme, _, token = value.partition(" ")
            value = f"{scheme} {mask_token(token)}" if token else mask_token(value)
        shown[name[:100]] = (scrub(value, *secrets) or "")[:MAX_HEADER_CHARS]
    return shown


def scrub(text: str | None, *secrets: str | None) -> str | None:
    """Return text with every occurrence of each secret replaced by its mask."""
    if text is None:
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, mask_token(secret))
    return text


class HttpClient:
    """A pooled HTTP client for destinations: POST only, no redirects, host rules on every request."""

    def __init__(
        self,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        allowed_hosts: Iterable[str] = (),
        resolver=None,
    ):
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.allowed_hosts = tuple(allowed_hosts)
        self.resolver = resolver
        self.session = requests.Session()
        # No proxy from the environment: a proxy would resolve the host itself, past the host rules.
        self.session.trust_env = False
        # Retries are the dispatcher's job (with backoff and bookkeeping), never urllib3's; every
        # connection opens to an address checked by the host rules (DNS may have changed since check()).
        adapter = PinnedAdapter(self._connect_addresses, pool_connections=4, pool_maxsize=16, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": "pixelplus-shop/1.0", "Accept": "application/json"})

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def _connect_addresses(self, scheme: str, host: str, port: int) -> list[str] | None:
        return connect_addresses(scheme, host, port, self.allowed_hosts, self.resolver)

    def check(self, url: str) -> None:
        """Raise HostRefused unless url may be sent to now."""
        check_url(url, self.allowed_hosts, self.resolver)

    def post(
        self, url: str, body: bytes, request_body: str, headers: dict, secrets: Iterable[str | None] = ()
    ) -> Answer:
        """POST body to url; request_body is what may be stored of it (no secret). Return the answer."""
        secrets = tuple(s for s in secrets if s)
        stored_url = scrub(url, *secrets) or ""
        try:
            self.check(url)
        except HostUnresolved as error:
            return Answer.unsent(f"connection error: {scrub(str(error), *secrets)}", True, stored_url)
        except HostRefused as error:
            return Answer.unsent(f"refused: {scrub(str(error), *secrets)}", False, stored_url, refused=True)
        sent_headers = shown_headers({**self.session.headers, **headers}, secrets)
        started = time.monotonic()
        try:
            response = self.session.post(
                url,
                data=body,
                headers=headers,
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
                stream=True,
            )
            try:
                raw = response.raw.read(MAX_ANSWER_BYTES, decode_content=True) or b""
            finally:
                response.close()
        except HostRefused as error:
            # The name resolved to a refused address when connecting, not when checked (rebinding, or DNS
            # changing): nothing was sent, and the next attempt resolves again.
            return Answer(
                request_url=stored_url,
                request_body=request_body,
                duration_ms=_ms_since(started),
                error_message=f"refused at connect: {scrub(str(error), *secrets)}",
                retryable=True,
            )
        except requests.RequestException as error:
            return Answer(
                http_status=None,
                request_url=stored_url,
                request_body=request_body,
                duration_ms=_ms_since(started),
                error_message=scrub(_network_message(error), *secrets),
                retryable=True,
                request_headers=sent_headers,
            )
        duration_ms = _ms_since(started)
        # What requests really sent (with Content-Length and the rest), and what came back.
        sent_headers = shown_headers(response.request.headers, secrets) if response.request else sent_headers
        answer_headers = shown_headers(response.headers, secrets)
        if 300 <= response.status_code < 400:
            return Answer(
                http_status=response.status_code,
                request_url=stored_url,
                request_body=request_body,
                duration_ms=duration_ms,
                error_message=_redirect_message(url, response),
                refused=True,
                request_headers=sent_headers,
                response_headers=answer_headers,
            )
        text = scrub(raw.decode(response.encoding or "utf-8", errors="replace"), *secrets)
        return Answer(
            ok=200 <= response.status_code < 300,
            http_status=response.status_code,
            request_url=stored_url,
            request_body=request_body,
            response_text=text,
            duration_ms=duration_ms,
            retryable=response.status_code >= 500 or response.status_code in (408, 429),
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            request_headers=sent_headers,
            response_headers=answer_headers,
        )


def _redirect_message(url: str, response) -> str:
    """Name the refused redirect by its target's host only (its query may hold anything)."""
    location = response.headers.get("Location")
    if not location:
        return f"refused a redirect (HTTP {response.status_code}) without a Location"
    try:
        target = urlsplit(urljoin(url, location))
        host = target.hostname or "?"
        port = f":{target.port}" if target.port else ""
    except ValueError:
        host, port = "an invalid Location", ""
    return f"refused to follow a redirect (HTTP {response.status_code}) to {host}{port}: redirects are never followed"


def retry_after_seconds(value: str | None) -> float | None:
    """Return a Retry-After header (seconds or an HTTP date) as seconds from now, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value[:9]), 7 * 86400))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, min((moment - utcnow()).total_seconds(), 7 * 86400.0))


def _network_message(error: requests.RequestException) -> str:
    """Describe a network failure in one line."""
    if isinstance(error, requests.Timeout):
        kind = "connect timeout" if isinstance(error, requests.ConnectTimeout) else "read timeout"
    elif isinstance(error, requests.ConnectionError):
        kind = "connection error"
    else:
        kind = "request error"
    return f"{kind}: {type(error).__name__}: {error}"[:500]


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
