"""The bearer token of a Google Ads request: the one place OAuth is handled.

Google wants an access token, exchanged for the refresh token at Google's token endpoint with the OAuth
client id and secret (valid about an hour, cached until a minute before it expires). The embedded
sandbox takes the refresh token itself as the bearer, so for any base URL other than Google's the
refresh token is sent as is.
"""

import hashlib
import json
import threading
import time
from urllib.parse import urlencode, urlsplit

from delivery.http import HttpClient

TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105  (a URL, not a secret)
GOOGLE_ADS_HOST = "googleads.googleapis.com"
_cache: dict[str, tuple[str, float]] = {}  # sha256(refresh token) → (access token, expires at)
_lock = threading.Lock()


class TokenUnavailable(Exception):
    """No access token could be had; the message never holds a secret. retryable: worth trying later."""

    def __init__(self, message: str, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


def bearer_token(settings, client: HttpClient) -> str:
    """Return the bearer token for a request to settings.base_url; raise TokenUnavailable."""
    if urlsplit(settings.base_url).hostname != GOOGLE_ADS_HOST:
        return settings.oauth_refresh_token
    key = hashlib.sha256(settings.oauth_refresh_token.encode()).hexdigest()
    with _lock:
        cached = _cache.get(key)
        if cached and cached[1] > time.time():
            return cached[0]
    if not (settings.oauth_client_id and settings.oauth_client_secret):
        raise TokenUnavailable("the OAuth client id and secret are needed to call Google Ads", retryable=False)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": settings.oauth_refresh_token,
        "client_id": settings.oauth_client_id,
        "client_secret": settings.oauth_client_secret,
    }
    secrets = [settings.oauth_refresh_token, settings.oauth_client_secret]
    answer = client.post(
        TOKEN_URL,
        urlencode(form).encode(),
        "grant_type=refresh_token",
        {"Content-Type": "application/x-www-form-urlencoded"},
        secrets=secrets,
    )
    if not answer.ok:
        reason = answer.error_message or f"HTTP {answer.http_status}"
        raise TokenUnavailable(f"Google's token endpoint refused the refresh token: {reason}", answer.retryable)
    try:
        body = json.loads(answer.response_text or "")
        token, lifetime = body["access_token"], float(body.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError):
        raise TokenUnavailable("Google's token endpoint answered without an access token", retryable=True) from None
    with _lock:
        _cache[key] = (token, time.time() + lifetime - 60)
    return token
