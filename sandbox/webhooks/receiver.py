"""The emulated webhook receiver: POST /sandbox/webhooks/<name> verifies a Standard Webhooks signature."""

import re
import time

from flask import Blueprint, Response, current_app, jsonify, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.access import protect_api_blueprint, public
from extensions import db
from sandbox.faults import draw_fault
from sandbox.secrets_shown import clean_text
from sandbox.webhooks.models import WebhookHit, WebhookSecret

bp = Blueprint("sandbox_webhooks", __name__, url_prefix="/sandbox/webhooks")
protect_api_blueprint(bp)  # deny by default: the receiver declares @public

SERVICE = "webhook"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_BODY_BYTES = 1024 * 1024
SHOWN_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent")


def secret_for(name: str) -> str | None:
    """Return the receiver's secret: the tester-set one, else the configured one."""
    row = db.session.get(WebhookSecret, name)
    if row is not None:
        return row.secret
    return (current_app.config.get("SANDBOX_WEBHOOK_SECRETS") or {}).get(name)


def set_secret(name: str, secret: str) -> None:
    """Make the receiver verify with secret from now on; caller commits."""
    row = db.session.get(WebhookSecret, name)
    if row is None:
        db.session.add(WebhookSecret(name=name, secret=secret))
    else:
        row.secret = secret


@bp.post("/<name>")
@public
def receive(name: str):
    """Verify the delivery's signature, record it, and answer (or answer the injected fault)."""
    if not NAME.match(name):
        return jsonify({"error": "unknown receiver name"}), 404
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        return jsonify({"error": "body too large"}), 413
    headers = {key: clean_text(request.headers.get(key)) for key in SHOWN_HEADERS if key in request.headers}
    secret = secret_for(name)
    verified, problem = False, None
    if secret is None:
        problem = "no secret is set for this receiver"
    else:
        try:
            Webhook(secret).verify(raw, {key: request.headers.get(key, "") for key in SHOWN_HEADERS[:3]})
            verified = True
        except WebhookVerificationError as error:
            problem = str(error) or "signature did not verify"
        except Exception as error:  # a malformed secret or header must not become a 500
            problem = f"could not verify: {type(error).__name__}"
    fault = draw_fault(SERVICE)
    if fault.latency_ms or fault.hang_ms:
        time.sleep((fault.latency_ms + fault.hang_ms) / 1000)
    answer = _fault_answer(fault.error) or (
        Response('{"ok": true}', 200, mimetype="application/json")
        if verified
        else Response('{"error": "invalid signature"}', 400, mimetype="application/json")
    )
    db.session.add(
        WebhookHit(
            name=name,
            headers=headers,
            body=clean_text(raw.decode("utf-8", errors="replace")) or "",
            verified=verified,
            verification_error=problem,
            answered=answer.status_code,
        )
    )
    db.session.commit()
    return answer


def _fault_answer(error: str | None) -> Response | None:
    """Return the injected error's answer, or None."""
    if error == "gone":
        return Response('{"error": "endpoint gone"}', 410, mimetype="application/json")
    if error == "throttled":
        return Response('{"error": "slow down"}', 429, {"Retry-After": "120"}, mimetype="application/json")
    if error == "unavailable":
        return Response("The service is currently unavailable.", 503, mimetype="text/plain")
    if error in ("server", "auth"):
        return Response("Internal error (injected by the sandbox).", 500, mimetype="text/plain")
    if error == "wrong_status":
        return Response("Moved", 302, {"Location": "https://example.com/elsewhere"}, mimetype="text/plain")
    return None
