"""The postback endpoints and the module's JSON API.

- ``GET|POST /api/conversion/refund?token=&cid=&amount=&txid=&type=&ref=``: an affiliate network's refund
  postback (the seed's), authenticated by the shop's postback token; answers ``{"ok": true}`` at once.
- ``POST /api/payments/stripe-webhook``: Stripe's ``charge.refunded`` and ``charge.dispute.created``,
  authenticated by the ``Stripe-Signature`` header; answers 200 at once.
- ``GET|PUT /api/postbacks/settings``, ``POST /api/postbacks/settings/rotate-token``, ``GET /api/postbacks``.
Both receiving endpoints only record a queued row: the refund itself happens in the background.
"""

import math
import time

import stripe
from flask import Blueprint, current_app, jsonify, request, url_for
from flask_limiter import RateLimitExceeded, RequestLimit
from flask_login import current_user
from sqlalchemy import select

from core.access import protect_api_blueprint, public, requires
from core.apierrors import ApiError, error_response, json_body, register_json_errors
from core.inputs import MAX_ID, strict_loads, whole_number
from extensions import csrf, db, limiter
from postbacks import intake, runner, settings
from postbacks.models import STATUSES, Postback
from postbacks.serializers import postback_json

api = Blueprint("postbacks_api", __name__, url_prefix="/api")
csrf.exempt(api)  # the token, the signature or an API key authenticate; never the session cookie
protect_api_blueprint(api)
register_json_errors(api)

STRIPE_TOLERANCE_SECONDS = 300
MAX_STRIPE_BODY = 256 * 1024  # Stripe's events are a few kB
MAX_LIST_LIMIT = 500
# Refused calls (bad token, bad parameters, bad signature) a client may make before it must wait; valid
# postbacks never count, so a network's volume is never throttled while it sends what it should.
DEFAULT_THROTTLE = "30 per minute"


def _refused(response) -> bool:
    return response.status_code in (400, 401, 413, 422)


def _too_many(limit: RequestLimit):
    wait = max(math.ceil(limit.reset_at - time.time()), 1)
    response = error_response(429, "too_many_requests", f"too many refused calls; try again in {wait} s")
    response.headers["Retry-After"] = str(wait)
    return response


@api.errorhandler(RateLimitExceeded)
def _throttled(error: RateLimitExceeded):
    # The answer _too_many built (with Retry-After), not the generic JSON error of register_json_errors.
    return error.get_response()


# One count per client for both receiving endpoints.
throttle = limiter.shared_limit(
    lambda: current_app.config.get("POSTBACKS_THROTTLE", DEFAULT_THROTTLE),
    scope="postbacks-client",
    deduct_when=_refused,
    on_breach=_too_many,
)


@api.route("/conversion/refund", methods=["GET", "POST"])
@public
@throttle
def conversion_refund():
    """Record a network's refund postback and answer at once; it is processed in the background."""
    token = request.values.getlist("token")
    if len(token) != 1 or not settings.token_matches(token[0]):
        return error_response(401, "unauthorized", "missing or invalid postback token")
    received = intake.record(intake.read_network_postback(request.values))
    if not received.duplicate:
        runner.request_processing()
    db.session.commit()
    return jsonify({"ok": True})


@api.post("/payments/stripe-webhook")
@public
@throttle
def stripe_webhook():
    """Verify a Stripe event's signature and record it; 200 at once, processed in the background."""
    secret = settings.stripe_secret()
    if not secret:
        raise ApiError(400, "not_configured", "no Stripe webhook signing secret is set for this shop")
    header = request.headers.get("Stripe-Signature")
    if not header:
        raise ApiError(400, "bad_signature", "the Stripe-Signature header is missing")
    if request.content_length is None or request.content_length > MAX_STRIPE_BODY:
        raise ApiError(413, "too_large", f"a Stripe event body must come with a length of at most {MAX_STRIPE_BODY}")
    payload = request.get_data()
    try:
        stripe.Webhook.construct_event(payload, header, secret, tolerance=STRIPE_TOLERANCE_SECONDS)
        # Read again, strictly (no NaN, no deep nesting): the library's parse is only its own check.
        event = strict_loads(payload)
    except stripe.SignatureVerificationError as error:
        # Stripe's messages say what failed (no signature, no match, timestamp too old), never the secret.
        raise ApiError(400, "bad_signature", error.user_message or "the signature does not verify") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "malformed", "the body is not a JSON event") from None
    if not isinstance(event, dict):
        raise ApiError(400, "malformed", "the body is not a JSON event")
    fields = intake.read_stripe_event(event)
    if fields is None:
        return jsonify({"received": True, "ignored": str(event.get("type"))[:64]})
    received = intake.record(fields)
    if not received.duplicate:
        runner.request_processing()
    db.session.commit()
    return jsonify({"received": True, "duplicate": received.duplicate})


def settings_json(reveal: bool = False) -> dict:
    """Return the postback settings; the token (and the URL holding it) masked unless reveal."""
    row = settings.config()
    token = row.token if reveal else settings.mask(row.token)
    return {
        "token": token,
        "url": postback_url(token),
        "token_rotated_at": row.token_rotated_at.isoformat(),
        "stripe_webhook_secret": settings.mask(row.stripe_webhook_secret, "whsec_"),
        "stripe_webhook_url": url_for("postbacks_api.stripe_webhook", _external=True),
    }


def postback_url(token: str) -> str:
    """Return the URL to give a network, with the seed's placeholders for what it fills in."""
    base = url_for("postbacks_api.conversion_refund", _external=True)
    return f"{base}?token={token}&cid=[CLICK_ID]&amount=[AMOUNT]&txid=[TXID]&type=[TYPE]"


@api.get("/postbacks/settings")
@requires("settings.view")
def api_settings():
    """Return the settings; ``?show=1`` reveals the token (merchants only)."""
    reveal = request.args.get("show") == "1"
    if reveal and not current_user.can("settings"):
        raise ApiError(403, "forbidden", "only a merchant may see the postback token")
    body = settings_json(reveal)
    db.session.commit()  # the first read creates the token
    return jsonify(body)


@api.put("/postbacks/settings")
@requires("settings")
def api_save():
    """Change the Stripe webhook secret; 422 when it is not a ``whsec_`` secret (nothing stored)."""
    body = json_body()
    unknown = {key: "unknown setting" for key in body if key != "stripe_webhook_secret"}
    if unknown:
        raise ApiError(422, "invalid", "unknown settings; nothing was saved", unknown)
    value = body.get("stripe_webhook_secret")
    if "stripe_webhook_secret" in body and value != settings.mask(settings.stripe_secret(), "whsec_"):
        try:
            settings.save_stripe_secret(value)
        except settings.SecretInvalid as error:
            db.session.rollback()
            raise ApiError(422, "invalid", "nothing was saved", {"stripe_webhook_secret": str(error)}) from None
    db.session.commit()
    return jsonify(settings_json())


@api.post("/postbacks/settings/rotate-token")
@requires("settings")
def api_rotate_token():
    """Replace the postback token and return the new one, in full, this once."""
    settings.rotate_token()
    body = settings_json(reveal=True)
    db.session.commit()
    return jsonify(body)


@api.get("/postbacks")
@requires("settings.view")
def api_postbacks():
    """List postbacks, newest first, ``limit`` at a time; filter by ``status`` and ``order_id``."""
    errors = {}
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        errors["status"] = "one of " + ", ".join(STATUSES)
    limit = _whole("limit", errors, MAX_LIST_LIMIT)
    before, order_id = _whole("before", errors), _whole("order_id", errors)
    if errors:
        raise ApiError(422, "invalid", "some parameters are invalid; see fields", errors)
    statement = select(Postback).order_by(Postback.id.desc()).limit(limit or 100)
    if status:
        statement = statement.where(Postback.status == status)
    if order_id is not None:
        statement = statement.where(Postback.order_id == order_id)
    if before is not None:
        statement = statement.where(Postback.id < before)
    return jsonify([postback_json(p) for p in db.session.scalars(statement)])


def _whole(name: str, errors: dict, hi: int = MAX_ID) -> int | None:
    """Return a query parameter as a whole number from 1 to hi (None when absent), or record why not."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return whole_number(raw, lo=1, hi=hi)
    except ValueError as error:
        errors[name] = str(error)
        return None
