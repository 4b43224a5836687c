"""The bearer token of a Google Ads request: the refresh token for the sandbox, an exchanged access token for Google.

Google's token endpoint is out of reach from tests, so its answer is played by a stand-in client (the edge).
"""

from types import SimpleNamespace

import pytest

from delivery.http import Answer
from googleads import oauth


class TokenEndpoint:
    """Plays oauth2.googleapis.com/token: records each call, answers what the test scripted."""

    def __init__(self, answer: Answer):
        self.answer, self.calls = answer, []

    def post(self, url, body, request_body, headers, secrets=()):
        self.calls.append({"url": url, "body": body.decode(), "request_body": request_body, "secrets": list(secrets)})
        return self.answer


def settings(**changes):
    values = {
        "base_url": "https://googleads.googleapis.com",
        "oauth_refresh_token": "1//refresh-" + "x" * 20,
        "oauth_client_id": "client.apps.googleusercontent.com",
        "oauth_client_secret": "GOCSPX-secret-value",
    }
    return SimpleNamespace(**{**values, **changes})


@pytest.fixture(autouse=True)
def _empty_cache():
    oauth._cache.clear()
    yield
    oauth._cache.clear()


def test_the_sandbox_takes_the_refresh_token_itself():
    endpoint = TokenEndpoint(Answer(ok=True))
    assert (
        oauth.bearer_token(settings(base_url="http://127.0.0.1:5000/sandbox/googleads"), endpoint)
        == "1//refresh-" + "x" * 20
    )
    assert endpoint.calls == []


def test_google_gets_an_access_token_exchanged_once_and_cached():
    endpoint = TokenEndpoint(
        Answer(ok=True, http_status=200, response_text='{"access_token": "ya29.abc", "expires_in": 3599}')
    )
    assert oauth.bearer_token(settings(), endpoint) == "ya29.abc"
    assert oauth.bearer_token(settings(), endpoint) == "ya29.abc"
    [call] = endpoint.calls
    assert call["url"] == oauth.TOKEN_URL and "grant_type=refresh_token" in call["body"]
    assert call["request_body"] == "grant_type=refresh_token"  # what may be stored holds no secret
    assert {"1//refresh-" + "x" * 20, "GOCSPX-secret-value"} <= set(call["secrets"])


def test_a_refused_refresh_token_says_why_without_the_secret():
    endpoint = TokenEndpoint(Answer(ok=False, http_status=400, response_text='{"error": "invalid_grant"}'))
    with pytest.raises(oauth.TokenUnavailable) as refused:
        oauth.bearer_token(settings(), endpoint)
    assert "HTTP 400" in str(refused.value) and "refresh-" not in str(refused.value) and not refused.value.retryable
    with pytest.raises(oauth.TokenUnavailable, match="client id and secret"):
        oauth.bearer_token(settings(oauth_client_id=""), endpoint)
