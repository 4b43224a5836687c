"""The postback token (per shop, rotatable) and the Stripe webhook secret: stored, checked, shown masked."""

import hmac
import re
import secrets

from sqlalchemy.exc import IntegrityError

from core.dbtypes import utcnow
from extensions import db
from postbacks.models import PostbackConfig

CONFIG_ID = 1
STRIPE_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_-]{8,200}")


class SecretInvalid(ValueError):
    """A Stripe webhook secret that may not be saved; nothing was stored."""


def new_token() -> str:
    """Return a fresh postback token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def mask(secret: str | None, prefix: str = "") -> str:
    """Return a secret shown only by its last four characters (after a known prefix like ``whsec_``)."""
    if not secret:
        return ""
    shown_prefix = prefix if prefix and secret.startswith(prefix) else ""
    return f"{shown_prefix}…{secret[-4:]}"


def current_config() -> PostbackConfig | None:
    """Return the settings row, or None before the first settings page or demo made it."""
    return db.session.get(PostbackConfig, CONFIG_ID)


def config() -> PostbackConfig:
    """Return the settings row, creating it with a fresh token the first time; the caller commits."""
    found = current_config()
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            db.session.add(PostbackConfig(id=CONFIG_ID, token=new_token(), token_rotated_at=utcnow()))
    except IntegrityError:  # another request made it first
        pass
    return db.session.get(PostbackConfig, CONFIG_ID)


def token_matches(given: str | None) -> bool:
    """Whether given is the shop's postback token, compared in constant time."""
    found = current_config()
    if found is None or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), found.token.encode())


def rotate_token() -> str:
    """Replace the postback token (the old one stops working at once) and return the new one."""
    row = config()
    row.token = new_token()
    row.token_rotated_at = utcnow()
    db.session.flush()
    return row.token


def save_stripe_secret(value) -> None:
    """Store the Stripe webhook signing secret (``whsec_…``); None or "" removes it."""
    if value is None or value == "":
        config().stripe_webhook_secret = None
        return
    if not isinstance(value, str) or not STRIPE_SECRET.fullmatch(value):
        raise SecretInvalid("a Stripe webhook signing secret looks like whsec_ followed by letters and digits")
    config().stripe_webhook_secret = value


def stripe_secret() -> str | None:
    """Return the Stripe webhook signing secret, or None when none is set."""
    found = current_config()
    return found.stripe_webhook_secret if found else None
