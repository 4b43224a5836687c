"""Create, change, rotate and delete webhook endpoints: the one place their input is checked and their secrets made."""

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.dbtypes import utcnow
from delivery.hosts import clean_base_url
from extensions import db
from webhooks.models import ROTATION_GRACE, WebhookEndpoint

log = logging.getLogger(__name__)

REFUNDED = "transaction.refunded"
EVENT_TYPES = (REFUNDED,)
MAX_URL_CHARS = 2048
MAX_ENDPOINTS = 20
SECRET_BYTES = 24  # Standard Webhooks asks for 24 to 64 random bytes
FIELDS = ("url", "event_types", "enabled")


class InvalidEndpoint(ValueError):
    """The endpoint input is not valid; fields maps each field to its message."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("the endpoint is not valid")
        self.fields = fields


@dataclass(frozen=True)
class Created:
    """An endpoint just created or rotated, with its secret: the one time it is shown."""

    endpoint: WebhookEndpoint
    secret: str


def new_secret() -> str:
    """Return a fresh signing secret: ``whsec_`` and the base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def endpoints() -> list[WebhookEndpoint]:
    """Return every endpoint, oldest first."""
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def clean(data: dict, partial: bool) -> dict:
    """Return the clean values of data (all fields unless partial), or raise InvalidEndpoint per field."""
    errors = {str(key)[:40]: f"unknown field; use {', '.join(FIELDS)}" for key in data if key not in FIELDS}
    values: dict = {}
    if "url" in data or not partial:
        url = data.get("url")
        try:
            values["url"] = _clean_url(url)
        except ValueError as error:
            errors["url"] = str(error)
    if "event_types" in data or not partial:
        kinds = data.get("event_types", list(EVENT_TYPES))
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) and k in EVENT_TYPES for k in kinds):
            errors["event_types"] = f"a non-empty list of: {', '.join(EVENT_TYPES)}"
        else:
            values["event_types"] = sorted(set(kinds))
    if "enabled" in data or not partial:
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            errors["enabled"] = "true or false"
        else:
            values["enabled"] = enabled
    if errors:
        raise InvalidEndpoint(errors)
    return values


def _clean_url(url) -> str:
    """Return the URL if the delivery service's host rules let events go there, else raise ValueError."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("Enter the URL that receives the events (https to a public host).")
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"The URL is longer than {MAX_URL_CHARS} characters.")
    if any(ord(char) < 0x21 or 0x7F <= ord(char) <= 0x9F or 0xD800 <= ord(char) <= 0xDFFF for char in url):
        raise ValueError("The URL holds spaces or control characters.")
    return clean_base_url(url.strip(), "webhook URL", "https://example.com/webhooks/refunds")


def create(data: dict) -> Created:
    """Add an endpoint from data with a new secret; caller commits."""
    values = clean(data, partial=False)
    if len(endpoints()) >= MAX_ENDPOINTS:
        raise InvalidEndpoint({"url": f"at most {MAX_ENDPOINTS} endpoints"})
    secret = new_secret()
    endpoint = WebhookEndpoint(**values, secret=secret)
    db.session.add(endpoint)
    db.session.flush()
    log.info("webhook endpoint %s created for %s", endpoint.id, endpoint.url)
    return Created(endpoint, secret)


def update(endpoint: WebhookEndpoint, data: dict) -> WebhookEndpoint:
    """Change the endpoint's url, event types or enabled; re-enabling clears why it was disabled; caller commits."""
    values = clean(data, partial=True)
    for key, value in values.items():
        setattr(endpoint, key, value)
    if values.get("enabled"):
        endpoint.disabled_reason = None
    return endpoint


def rotate(endpoint: WebhookEndpoint, now: datetime | None = None) -> Created:
    """Give the endpoint a new secret; the old one keeps signing for 24 hours; caller commits."""
    now = now or utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + ROTATION_GRACE
    endpoint.secret = new_secret()
    log.info("webhook endpoint %s secret rotated; the previous one signs until %s", endpoint.id, now + ROTATION_GRACE)
    return Created(endpoint, endpoint.secret)


def delete(endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint (its sent events stay in the log); caller commits."""
    db.session.delete(endpoint)


def disable_gone(endpoint_id: int, at: datetime) -> None:
    """Switch the endpoint off because it answered 410 Gone, and say so; caller commits."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = f"disabled on {at:%Y-%m-%d %H:%M} UTC: the endpoint answered HTTP 410 Gone"
    log.warning("webhook endpoint %s disabled: it answered HTTP 410 Gone", endpoint_id)
