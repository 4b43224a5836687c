"""The back-office Webhooks page: endpoints, adding one, switching on and off, rotating and deleting.

A new secret is shown once, on the page that answers the create or rotate request itself (never in a
redirect, the session or a flash message).
"""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Optional

from core.access import protect_browser_blueprint, requires
from extensions import db
from webhooks import endpoints
from webhooks.endpoints import REFUNDED, Created, InvalidEndpoint
from webhooks.models import WebhookEndpoint

bp = Blueprint("webhooks_settings", __name__, url_prefix="/admin/webhooks")
protect_browser_blueprint(bp)


class EndpointForm(FlaskForm):
    """A new endpoint: its URL and whether it is on."""

    url = StringField("Endpoint URL", validators=[Optional()])
    enabled = BooleanField("Enabled", default=True)


class ConfirmForm(FlaskForm):
    """A button that needs only its CSRF token."""


def _page(form: EndpointForm | None = None, created: Created | None = None, status: int = 200):
    page = render_template(
        "webhooks/endpoints.html",
        endpoints=endpoints.endpoints(),
        form=form or EndpointForm(),
        confirm=ConfirmForm(),
        created=created,
        can_edit=current_user.can("settings"),
        event_type=REFUNDED,
    )
    return page, status


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


@bp.get("")
@requires("settings.view")
def endpoints_page():
    """Show the endpoints (secrets masked) and, to a merchant, the form to add one."""
    return _page()


@bp.post("")
@requires("settings")
def add_endpoint():
    """Add an endpoint and show its secret this once."""
    form = EndpointForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        created = endpoints.create(
            {"url": form.url.data or "", "event_types": [REFUNDED], "enabled": form.enabled.data}
        )
    except InvalidEndpoint as error:
        db.session.rollback()
        for message in error.fields.values():
            form.url.errors = [*form.url.errors, message]
        return _page(form, status=422)
    db.session.commit()
    return _page(created=created)


@bp.post("/<int:endpoint_id>/rotate-secret")
@requires("settings")
def rotate_secret(endpoint_id: int):
    """Give the endpoint a new secret and show it this once; the old one signs for 24 more hours."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    created = endpoints.rotate(_endpoint(endpoint_id))
    db.session.commit()
    return _page(created=created)


@bp.post("/<int:endpoint_id>/toggle")
@requires("settings")
def toggle(endpoint_id: int):
    """Switch the endpoint on or off."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    endpoint = _endpoint(endpoint_id)
    endpoints.update(endpoint, {"enabled": not endpoint.enabled})
    db.session.commit()
    flash(f"Endpoint #{endpoint.id} {'enabled' if endpoint.enabled else 'disabled'}.", "success")
    return redirect(url_for(".endpoints_page"))


@bp.post("/<int:endpoint_id>/delete")
@requires("settings")
def delete(endpoint_id: int):
    """Delete the endpoint."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    endpoints.delete(_endpoint(endpoint_id))
    db.session.commit()
    flash(f"Endpoint #{endpoint_id} deleted.", "success")
    return redirect(url_for(".endpoints_page"))
