"""The Pixel Plus settings page (/admin/pixelplus/settings) and its JSON API (/api/pixelplus/settings).

Merchants change the settings; testers see the page read-only. The access token is only ever shown
masked, and an empty token field leaves the stored token as it is.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user
from sqlalchemy import select

from core.access import protect_api_blueprint, protect_browser_blueprint, requires
from core.apierrors import ApiError, json_body, register_json_errors
from extensions import csrf, db
from pixelplus.forms import RefundSettingsForm, SendTestEventForm, choice
from pixelplus.settings import CONTENT_ID_SOURCES, RefundSettings, SettingsInvalid, load_settings, save_settings
from pixelplus.test_event import CannotSendTestEvent, send_test_event
from shop.models import OrderState

bp = Blueprint("pixelplus_settings", __name__, url_prefix="/admin/pixelplus")
protect_browser_blueprint(bp)

api = Blueprint("pixelplus_settings_api", __name__, url_prefix="/api/pixelplus")
csrf.exempt(api)  # API calls authenticate with a key, never the session cookie
protect_api_blueprint(api)
register_json_errors(api)

TEST_RESULT_KEY = "pixelplus_test_event"

# JSON API key (INTERFACES.md) → settings field.
API_KEYS = {
    "FCTP_REFUND_ENABLED": "enabled",
    "FCTP_REFUND_PAID_ONLY": "paid_only",
    "FCTP_REFUND_STATUS": "trigger_state_ids",
    "FCTP_REFUND_ON_CREDIT_SLIP": "refund_on_credit_slip",
    "pixel_id": "pixel_id",
    "access_token": "access_token",
    "api_version": "api_version",
    "graph_url": "graph_url",
    "test_event_code": "test_event_code",
    "value_tax_incl": "value_tax_incl",
    "value_shipping_incl": "value_shipping_incl",
    "content_id_source": "content_id_source",
}
FIELD_TO_API_KEY = {field: key for key, field in API_KEYS.items()}


def _states() -> list[OrderState]:
    return list(db.session.scalars(select(OrderState).order_by(OrderState.id)))


def _settings_page(form: RefundSettingsForm, settings: RefundSettings, status: int = 200):
    can_edit = current_user.can("settings")
    return (
        render_template(
            "pixelplus/settings.html",
            form=form,
            test_form=SendTestEventForm(),
            settings=settings,
            can_edit=can_edit,
            test_result=session.pop(TEST_RESULT_KEY, None),
        ),
        status,
    )


def _form(states: list[OrderState]) -> RefundSettingsForm:
    form = RefundSettingsForm()
    form.trigger_state_ids.choices = [choice(s.id, s.name + (" (custom)" if s.is_custom else "")) for s in states]
    return form


@bp.get("/settings")
@requires("settings.view")
def settings():
    """Show the settings (read-only without the ``settings`` permission)."""
    current = load_settings()
    form = _form(_states())
    form.fill(current)
    return _settings_page(form, current)


@bp.post("/settings")
@requires("settings")
def save():
    """Validate and store the settings; on a refusal show every message and store nothing."""
    form = _form(_states())
    current = load_settings()
    if form.validate_on_submit():
        try:
            save_settings(form.changes())
        except SettingsInvalid as error:
            db.session.rollback()
            form.show_errors(error.fields)
        else:
            db.session.commit()
            flash("Pixel Plus settings saved.", "success")
            return redirect(url_for(".settings"))
    flash("The settings were not saved: correct the fields marked below.", "error")
    return _settings_page(form, current, 422)


@bp.post("/settings/test-event")
@requires("settings")
def test_event():
    """Send one test Refund event now and show the answer on the settings page."""
    form = SendTestEventForm()
    if not form.validate_on_submit():
        flash("The test event was not sent: the form expired, try again.", "error")
        return redirect(url_for(".settings"))
    try:
        result = send_test_event(load_settings())
    except CannotSendTestEvent as refused:
        flash(str(refused), "warning")
        return redirect(url_for(".settings"))
    session[TEST_RESULT_KEY] = result.as_dict()
    return redirect(url_for(".settings") + "#test-event")


@bp.get("/sandbox")
@requires("sandbox")
def sandbox():
    """Open the embedded Meta sandbox's "Test events" page."""
    if "sandbox.index" in current_app.view_functions:
        return redirect(url_for("sandbox.index"))
    return redirect("/sandbox/")


def settings_as_json(settings: RefundSettings) -> dict:
    """Return the settings under their API keys; the token masked."""
    return {
        "FCTP_REFUND_ENABLED": settings.enabled,
        "FCTP_REFUND_PAID_ONLY": settings.paid_only,
        "FCTP_REFUND_STATUS": list(settings.trigger_state_ids),
        "FCTP_REFUND_ON_CREDIT_SLIP": settings.refund_on_credit_slip,
        "pixel_id": settings.pixel_id,
        "access_token": settings.masked_token,
        "access_token_set": bool(settings.access_token),
        "api_version": settings.api_version,
        "graph_url": settings.graph_url,
        "test_event_code": settings.test_event_code,
        "value_tax_incl": settings.value_tax_incl,
        "value_shipping_incl": settings.value_shipping_incl,
        "content_id_source": settings.content_id_source,
        "content_id_sources": list(CONTENT_ID_SOURCES),
        "order_states": [{"id": s.id, "name": s.name, "key": s.key} for s in _states()],
    }


@api.get("/settings")
@requires("settings.view")
def api_settings():
    """Return the settings."""
    return settings_as_json(load_settings())


@api.put("/settings")
@requires("settings")
def api_save():
    """Change any subset of the settings; 422 with a message per key, nothing stored, when refused."""
    body = json_body()
    current = load_settings()
    unknown = {key: "unknown setting" for key in body if key not in API_KEYS}
    if unknown:
        raise ApiError(422, "invalid", "unknown settings; nothing was saved", unknown)
    changes = {API_KEYS[key]: value for key, value in body.items()}
    token = changes.get("access_token")
    if token is None and "access_token" in changes:
        changes["access_token"] = ""  # null clears the token
    elif token == "" or (token and token == current.masked_token):
        # "" or the masked token read back from GET leave the stored token unchanged.
        del changes["access_token"]
    try:
        saved = save_settings(changes)
    except SettingsInvalid as error:
        db.session.rollback()
        fields = {FIELD_TO_API_KEY.get(name, name): message for name, message in error.fields.items()}
        raise ApiError(422, "invalid", "the settings are invalid; nothing was saved", fields) from None
    db.session.commit()
    return settings_as_json(saved)
