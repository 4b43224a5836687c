"""An embedded emulation of Meta's Graph API Conversions endpoint, for offline use and tests.

The sandbox imports nothing from `shop` or `pixelplus`: only `core`, `extensions`, Flask and SQLAlchemy.
Settings (all optional, read from the environment as FLASK_<KEY>):
- SANDBOX_PIXELS: {pixel_id: access_token} the sandbox accepts (set by app.py).
- SANDBOX_VERSIONS: the Graph versions served; by default those Meta serves today (sandbox/versions.py).
- SANDBOX_REJECT_NEGATIVE_VALUE: refuse a negative custom_data.value (default true).
- SANDBOX_FUTURE_SKEW_SECONDS: how far ahead event_time may be (default 60).
- SANDBOX_HANG_MS: how long a `timeout` fault holds a request (default 3000).
- SANDBOX_GOOGLEADS_TOKENS: the bearer tokens the Google Ads sandbox accepts (set by app.py).
- SANDBOX_GOOGLEADS_VERSIONS: the Google Ads API versions served (default v24, v25, v26).
- SANDBOX_MAX_BODY_BYTES: the largest Graph request body taken (default 4 MiB; Meta publishes no figure,
  and 1,000 events of a few KB each fit); a larger one is refused with 413 and stores nothing.
- SANDBOX_WEBHOOK_SECRETS: {receiver name: "whsec_…"} the webhook receivers verify with.
GA4 (sandbox/ga4/), Google Ads (sandbox/googleads/) and webhooks (sandbox/webhooks/) have their own subpackages.
"""

import json
import logging
import re

from flask import Flask

_FALSE = {"0", "false", "no", "off", ""}
_TOKEN_IN_URL = re.compile(r"((?:access_token|api_secret)=)[^&\s\"]+")


class RedactAccessToken(logging.Filter):
    """Mask access_token (Meta's SDK) and api_secret (GA4) in request-log lines: they ride in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "access_token=" in message or "api_secret=" in message:
            record.msg, record.args = _TOKEN_IN_URL.sub(r"\1[redacted]", message), None
        return True


def init_app(app: Flask) -> None:
    """Mount the sandbox under /sandbox."""
    from extensions import csrf
    from sandbox import api, google_api, google_pages, graph, models, pages  # noqa: F401  (models: tables)
    from sandbox.ga4 import collect
    from sandbox.googleads import upload
    from sandbox.webhooks import receiver as webhook_receiver
    from sandbox.webhooks import secrets_api as webhook_secrets_api

    _configure(app)
    app.register_blueprint(graph.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(google_pages.bp)
    # The Graph endpoint is called by servers, the API by key only (never a session cookie).
    csrf.exempt(graph.bp)
    csrf.exempt(api.bp)
    for blueprint in (collect.bp, upload.bp, google_api.bp, webhook_receiver.bp, webhook_secrets_api.bp):
        app.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    server_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactAccessToken) for f in server_log.filters):
        server_log.addFilter(RedactAccessToken())


def _configure(app: Flask) -> None:
    """Fill in defaults and turn environment strings into the types the sandbox uses."""
    config = app.config
    config.setdefault("SANDBOX_VERSIONS", None)
    config.setdefault("SANDBOX_REJECT_NEGATIVE_VALUE", True)
    config.setdefault("SANDBOX_FUTURE_SKEW_SECONDS", 60)
    config.setdefault("SANDBOX_HANG_MS", 3000)
    config.setdefault("SANDBOX_MAX_BODY_BYTES", 4 * 1024 * 1024)
    config["SANDBOX_MAX_BODY_BYTES"] = int(config["SANDBOX_MAX_BODY_BYTES"])
    versions = config["SANDBOX_VERSIONS"]
    if isinstance(versions, str):
        versions = json.loads(versions) if versions.strip().startswith("[") else versions.split(",")
    config["SANDBOX_VERSIONS"] = tuple(v.strip() for v in versions if v.strip()) or None if versions else None
    negative = config["SANDBOX_REJECT_NEGATIVE_VALUE"]
    if isinstance(negative, str):
        config["SANDBOX_REJECT_NEGATIVE_VALUE"] = negative.strip().lower() not in _FALSE
    config["SANDBOX_FUTURE_SKEW_SECONDS"] = int(config["SANDBOX_FUTURE_SKEW_SECONDS"])
    config["SANDBOX_HANG_MS"] = int(config["SANDBOX_HANG_MS"])
    for key, default in (("SANDBOX_GOOGLEADS_TOKENS", ()), ("SANDBOX_GOOGLEADS_VERSIONS", ("v24", "v25", "v26"))):
        value = config.get(key, default)
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        config[key] = tuple(str(item).strip() for item in value if str(item).strip())
    secrets = config.get("SANDBOX_WEBHOOK_SECRETS") or {}
    if isinstance(secrets, str):
        secrets = json.loads(secrets)
    config["SANDBOX_WEBHOOK_SECRETS"] = {str(name): str(secret) for name, secret in secrets.items()}
    pixels = config.get("SANDBOX_PIXELS") or {}
    if isinstance(pixels, str):
        pixels = json.loads(pixels)
    config["SANDBOX_PIXELS"] = {str(pixel): str(token) for pixel, token in pixels.items()}
