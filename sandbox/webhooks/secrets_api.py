"""The tester API of the webhook sandbox: set a receiver's secret (never read back)."""

from flask import Blueprint, jsonify

from core.access import protect_api_blueprint, requires
from core.apierrors import ApiError, json_body, register_json_errors
from extensions import db
from sandbox.webhooks.receiver import NAME, secret_for, set_secret

bp = Blueprint("sandbox_webhook_secrets", __name__, url_prefix="/sandbox/api/webhooks")
protect_api_blueprint(bp)
register_json_errors(bp)

SECRET_PREFIX = "whsec_"  # noqa: S105  (the prefix, not a secret)


@bp.get("/secrets/<name>")
@requires("sandbox")
def secret_state(name: str):
    """Tell whether the receiver has a secret (the secret itself is never shown)."""
    return jsonify({"name": name, "has_secret": NAME.match(name) is not None and secret_for(name) is not None})


@bp.put("/secrets/<name>")
@requires("sandbox.manage")
def put_secret(name: str):
    """Set the secret the receiver verifies with: {"secret": "whsec_…"}."""
    if not NAME.match(name):
        raise ApiError(422, "invalid", "the receiver name is not valid", {"name": "letters, digits, _ . - (1-64)"})
    secret = json_body().get("secret")
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX) or not 10 <= len(secret) <= 200:
        raise ApiError(422, "invalid", "the secret is not valid", {"secret": "a whsec_… string"})
    set_secret(name, secret)
    db.session.commit()
    return jsonify({"name": name, "has_secret": True})
