"""Throttle failed sign-ins per account and per client, with Flask-Limiter.

Only failures count (the view sets ``g.login_failed``). Once an account or a client has used its
allowance (LOGIN_THROTTLE_ACCOUNT, default 10 per minute; LOGIN_THROTTLE_CLIENT, default 30 per
minute), the sign-in page answers 429 "Too many attempts" with the minutes to wait, whatever the
password. Counts live in Flask-Limiter's storage: ``memory://`` by default, which is per process;
several web processes share a count through RATELIMIT_STORAGE_URI (e.g. ``redis://…``).
"""

import math
import time

from flask import current_app, g, make_response, render_template, request
from flask_limiter import RequestLimit

from extensions import limiter

DEFAULT_ACCOUNT_LIMIT = "10 per minute"
DEFAULT_CLIENT_LIMIT = "30 per minute"


def _failed(_response) -> bool:
    return bool(g.get("login_failed"))


def _account() -> str:
    return (request.form.get("email") or "").strip().lower()[:255]


def _client() -> str:
    return request.remote_addr or "unknown"


def _too_many(limit: RequestLimit):
    """Answer the sign-in page with the throttle message instead of checking the password."""
    from shop.auth import LoginForm

    # The storage's reset time can lie a fraction past the window (it rounds up): never promise more than it.
    wait = min(max(limit.reset_at - time.time(), 1), limit.limit.get_expiry())
    minutes = math.ceil(wait / 60)
    form = LoginForm()
    form.password.errors = [f"Too many attempts, try again in {minutes} min."]
    response = make_response(render_template("backoffice/login.html", form=form), 429)
    response.headers["Retry-After"] = str(math.ceil(wait))
    return response


per_account = limiter.limit(
    lambda: current_app.config.get("LOGIN_THROTTLE_ACCOUNT", DEFAULT_ACCOUNT_LIMIT),
    key_func=_account,
    methods=["POST"],
    scope="login-account",
    deduct_when=_failed,
    on_breach=_too_many,
)
per_client = limiter.limit(
    lambda: current_app.config.get("LOGIN_THROTTLE_CLIENT", DEFAULT_CLIENT_LIMIT),
    key_func=_client,
    methods=["POST"],
    scope="login-client",
    deduct_when=_failed,
    on_breach=_too_many,
)
