"""Meta's Graph API error answers, in Meta's own shape and, where known, Meta's own words.

Wording taken from real Graph answers: 190 "Invalid OAuth access token - Cannot parse access token",
104 "An access token is required to request this resource.", 100/33 "Unsupported post request. Object
with ID ...", 2500 "Unknown path components", 100/2804003 "Event Timestamp
Too Old", 100/2804019 "Server Side Api Parameter Error" (missing key: "The parameter $['data'][0]
['user_data'] is required"; unexpected key: 'Unexpected key "name" on param "$['data'][0]..."'),
100/2804050 insufficient customer information, code 2 transient. Where Meta's exact text is not
public (future event_time, negative value, currency), the sandbox keeps Meta's code/subcode family
and says plainly what is wrong.
"""

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime

GRAPH_DOCS = "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
_TRACE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

# Subcodes of code 100 for a bad event.
SUBCODE_TOO_OLD = 2804003
SUBCODE_FUTURE = 2804004  # ours: Meta publishes no subcode for a timestamp in the future
SUBCODE_UNHASHED = 2804016
SUBCODE_SCHEMA = 2804019
SUBCODE_INSUFFICIENT = 2804050
SUBCODE_UNKNOWN_OBJECT = 33


def fbtrace_id() -> str:
    """Return a random trace id shaped like Meta's (11 base64url characters)."""
    return "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(11))


@dataclass
class GraphError(Exception):
    """A Graph API error answer: HTTP status plus Meta's error object, and a reason for the log."""

    status: int
    message: str
    type: str
    code: int
    error_subcode: int | None = None
    is_transient: bool | None = None
    error_user_title: str | None = None
    error_user_msg: str | None = None
    reason: str = ""
    extra: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    def __post_init__(self):
        super().__init__(self.message)
        if not self.reason:
            self.reason = self.error_user_msg or self.message

    def body(self, trace: str) -> dict:
        """Return the JSON body Meta answers with."""
        error: dict = {"message": self.message, "type": self.type, "code": self.code}
        if self.error_subcode is not None:
            error["error_subcode"] = self.error_subcode
        if self.is_transient is not None:
            error["is_transient"] = self.is_transient
        if self.error_user_title is not None:
            error["error_user_title"] = self.error_user_title
        if self.error_user_msg is not None:
            error["error_user_msg"] = self.error_user_msg
        error.update(self.extra)
        error["fbtrace_id"] = trace
        return {"error": error}


def path_of(*parts) -> str:
    """Return Meta's JSONPath for a parameter: path_of("data", 0, "user_data") → $['data'][0]['user_data']."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f"['{p}']" for p in parts)


def invalid_event(subcode: int, title: str, user_msg: str) -> GraphError:
    """Return the answer to an invalid event (code 100 with a 2804xxx subcode); never retried."""
    return GraphError(
        400,
        "Invalid parameter",
        "OAuthException",
        100,
        error_subcode=subcode,
        is_transient=False,
        error_user_title=title,
        error_user_msg=user_msg,
    )


def schema_error(user_msg: str) -> GraphError:
    """Return Meta's schema error (2804019): a missing, unexpected or malformed parameter."""
    return invalid_event(SUBCODE_SCHEMA, "Server Side Api Parameter Error", user_msg)


def missing_parameter(path: str, why: str = "") -> GraphError:
    """Return the answer to a required parameter that is absent."""
    return schema_error(f"The parameter {path} is required{why}")


def unexpected_key(key: str, path: str) -> GraphError:
    """Return the answer to a key Meta does not know."""
    return schema_error(f'Unexpected key "{key}" on param "{path}".')


def invalid_value(path: str, detail: str) -> GraphError:
    """Return the answer to a parameter whose value Meta refuses."""
    return schema_error(f"The value of the parameter {path} is invalid: {detail}")


def missing_token() -> GraphError:
    """Return the answer to a request without an access token."""
    return GraphError(400, "An access token is required to request this resource.", "OAuthException", 104)


def invalid_token() -> GraphError:
    """Return the answer to a token Meta cannot parse or does not know."""
    return GraphError(
        400,
        "Invalid OAuth access token - Cannot parse access token",
        "OAuthException",
        190,
        reason="invalid access token",
    )


def expired_token(now: datetime) -> GraphError:
    """Return the answer to an expired session token (code 190, subcode 463)."""
    stamp = now.strftime("%A, %d-%b-%y %H:%M:%S UTC")
    return GraphError(
        400,
        f"Error validating access token: Session has expired on {stamp}. The current time is {stamp}.",
        "OAuthException",
        190,
        error_subcode=463,
        reason="access token expired (injected)",
    )


def unknown_object(object_id: str, method: str = "post") -> GraphError:
    """Return the answer to a pixel that does not exist or the token may not use."""
    return GraphError(
        400,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        f"missing permissions, or does not support this operation. {GRAPH_DOCS}",
        "GraphMethodException",
        100,
        error_subcode=SUBCODE_UNKNOWN_OBJECT,
        reason=f"unknown pixel {object_id} or the token may not use it",
    )


def unknown_path(path: str) -> GraphError:
    """Return the answer to a path Graph cannot resolve (also an unknown API version)."""
    return GraphError(400, f"Unknown path components: {path}", "OAuthException", 2500)


def missing_data() -> GraphError:
    """Return the answer to a request without events."""
    return GraphError(400, "(#100) The parameter data is required", "OAuthException", 100)


def data_not_array() -> GraphError:
    """Return the answer to a data parameter that is not a JSON array."""
    return GraphError(400, "(#100) param data must be an array.", "OAuthException", 100)


def too_many_events(count: int, limit: int) -> GraphError:
    """Return the answer to a request over Meta's event limit."""
    return GraphError(
        400,
        "Invalid parameter",
        "OAuthException",
        100,
        is_transient=False,
        error_user_title="Too Many Events",
        error_user_msg=f"A request may contain at most {limit} events; this one has {count}. Split it.",
    )


def transient_error() -> GraphError:
    """Return Meta's temporary failure (code 2): the client should retry later."""
    return GraphError(
        500,
        "An unexpected error has occurred. Please retry your request later.",
        "OAuthException",
        2,
        is_transient=True,
        reason="transient error (injected)",
    )


def server_error(status: int = 503, reason: str = "server error (injected)") -> GraphError:
    """Return Meta's unknown failure (code 1) with a 5xx status."""
    return GraphError(status, "An unknown error has occurred.", "OAuthException", 1, is_transient=False, reason=reason)


# Throttling (rate limiting): Meta's codes and messages; all transient, so a client retries later.
# The HTTP status (400) and the usage figures in the headers are the sandbox's choice.
THROTTLES = {
    "app_limit": (4, "(#4) Application request limit reached", "X-App-Usage"),
    "user_limit": (17, "(#17) User request limit reached", "X-App-Usage"),
    "business_limit": (
        80004,
        "(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
        "X-Business-Use-Case-Usage",
    ),
    "rate_limit": (613, "(#613) Calls to this api have exceeded the rate limit.", "X-App-Usage"),
}


def throttled(kind: str, pixel_id: str | None) -> GraphError:
    """Return Meta's throttling answer of one kind (see THROTTLES), with its usage header."""
    code, message, header = THROTTLES[kind]
    if header == "X-App-Usage":
        usage = {"call_count": 100, "total_cputime": 25, "total_time": 30}
    else:
        usage = {
            pixel_id or "0": [
                {
                    "type": "ads_management",
                    "call_count": 100,
                    "total_cputime": 25,
                    "total_time": 30,
                    "estimated_time_to_regain_access": 5,
                }
            ]
        }
    return GraphError(
        400,
        message,
        "OAuthException",
        code,
        is_transient=True,
        reason=f"throttled: code {code} (injected)",
        headers={header: json.dumps(usage, separators=(",", ":"))},
    )
