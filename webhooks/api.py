"""The webhook endpoints' JSON API: list, create, change, delete, rotate the secret (returned once)."""

from flask import Blueprint, jsonify

from core.access import protect_api_blueprint, requires
from core.apierrors import ApiError, json_body, register_json_errors
from extensions import db
from webhooks import endpoints
from webhooks.endpoints import Created, InvalidEndpoint
from webhooks.models import WebhookEndpoint

bp = Blueprint("webhooks_api", __name__, url_prefix="/api/webhooks")
protect_api_blueprint(bp)
register_json_errors(bp)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise ApiError(404, "not_found", "no such webhook endpoint")
    return endpoint


def _with_secret(created: Created) -> dict:
    """The endpoint and its secret in full: answered once, on create and rotate."""
    return {**created.endpoint.to_json(), "secret": created.secret}


def _invalid(error: InvalidEndpoint) -> ApiError:
    return ApiError(422, "invalid", "the endpoint is not valid", error.fields)


@bp.get("/endpoints")
@requires("settings.view")
def list_endpoints():
    """List the endpoints (secrets masked)."""
    return jsonify([endpoint.to_json() for endpoint in endpoints.endpoints()])


@bp.post("/endpoints")
@requires("settings")
def create_endpoint():
    """Create an endpoint: {url, event_types, enabled} → 201 with its secret, shown this once."""
    try:
        created = endpoints.create(json_body())
    except InvalidEndpoint as error:
        db.session.rollback()
        raise _invalid(error) from None
    db.session.commit()
    return jsonify(_with_secret(created)), 201


@bp.patch("/endpoints/<int:endpoint_id>")
@requires("settings")
def update_endpoint(endpoint_id: int):
    """Change any of url, event_types, enabled."""
    endpoint = _endpoint(endpoint_id)
    try:
        endpoints.update(endpoint, json_body())
    except InvalidEndpoint as error:
        db.session.rollback()
        raise _invalid(error) from None
    db.session.commit()
    return jsonify(endpoint.to_json())


@bp.delete("/endpoints/<int:endpoint_id>")
@requires("settings")
def delete_endpoint(endpoint_id: int):
    """Delete the endpoint (its events stay in the sent-events log)."""
    endpoints.delete(_endpoint(endpoint_id))
    db.session.commit()
    return jsonify({"deleted": endpoint_id})


@bp.post("/endpoints/<int:endpoint_id>/rotate-secret")
@requires("settings")
def rotate_secret(endpoint_id: int):
    """Give the endpoint a new secret (shown this once); the old one keeps signing for 24 hours."""
    created = endpoints.rotate(_endpoint(endpoint_id))
    db.session.commit()
    return jsonify(_with_secret(created))
