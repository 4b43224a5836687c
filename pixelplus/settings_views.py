"""The Pixel Plus settings page (/admin/pixelplus/settings) and its JSON API (/api/pixelplus/settings).

Merchants change the settings; testers see the page read-only. The access token is only ever shown
masked, and an empty token field leaves the stored token as it is.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from core.access import protect_api_blueprint, protect_browser_blueprint, requires
from core.apierrors import ApiError, json_body, register_json_errors
from extensions import csrf, db
from pixelplus.forms import RefundSettingsForm, SendTestEventForm, choice
from pixelplus.settings import (
    ACTION_SOURCES,
    CONTENT_ID_SOURCES,
    LDU_CHOICES,
    RefundSettings,
    SettingsInvalid,
    load_settings,
    save_settings,
)
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
    "trigger_kinds": "trigger_kinds",
    "action_source": "action_source",
    "test_mode_minutes": "test_mode_minutes",
    "ldu": "ldu",
}
FIELD_TO_API_KEY = {field: key for key, field in API_KEYS.items()}


def _states() -> list[OrderState]:
    return list(db.session.scalars(select(OrderState).order_by(OrderState.id)))


def _settings_page(form: RefundSettingsForm, settings: RefundSettings, status: int = 200, kinds=None):
    can_edit = current_user.can("settings")
    states = _states()
    test_form = SendTestEventForm(formdata=None, test_event_code=settings.test_event_code or "TEST")
    return (
        render_template(
            "pixelplus/settings.html",
            form=form,
            test_form=test_form,
            settings=settings,
            can_edit=can_edit,
            test_result=session.pop(TEST_RESULT_KEY, None),
            kinds=kinds or {state.id: settings.kind_of(state) for state in states},
            kind_errors=form.kind_errors,
        ),
        status,
    )


def _submitted_kinds(states: list[OrderState]) -> dict[str, str]:
    """Return the kinds the page submitted, {state id: full/partial}; save_settings checks them."""
    return {str(s.id): request.form[f"kind_{s.id}"] for s in states if f"kind_{s.id}" in request.form}


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
    states = _states()
    form = _form(states)
    current = load_settings()
    kinds = _submitted_kinds(states)
    if form.validate_on_submit():
        try:
            save_settings(form.changes() | ({"trigger_kinds": kinds} if kinds else {}))
        except SettingsInvalid as error:
            db.session.rollback()
            form.show_errors(error.fields)
        else:
            db.session.commit()
            flash("Pixel Plus settings saved.", "success")
            return redirect(url_for(".settings"))
    flash("The settings were not saved: correct the fields marked below.", "error")
    shown = {s.id: kinds.get(str(s.id)) or current.kind_of(s) for s in states}
    return _settings_page(form, current, 422, shown)


@bp.post("/settings/test-event")
@requires("settings")
def test_event():
    """Send one test Refund event now and show the answer on the settings page."""
    form = SendTestEventForm()
    if not form.validate_on_submit():
        messages = [error for errors in form.errors.values() for error in errors]
        flash("The test event was not sent: " + (" ".join(messages) or "the form expired, try again."), "error")
        return redirect(url_for(".settings") + "#test-event")
    try:
        result = send_test_event(load_settings(), form.test_event_code.data)
    except CannotSendTestEvent as refused:
        flash(str(refused), "warning")
        return redirect(url_for(".settings") + "#test-event")
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
    """Return the settings under their API keys; the token masked; every state's refund kind."""
    states = _states()
    until = settings.test_mode_until
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
        "trigger_kinds": {str(s.id): settings.kind_of(s) for s in states},
        "action_source": settings.action_source,
        "action_sources": list(ACTION_SOURCES),
        "test_mode_minutes": settings.test_mode_minutes,
        "test_mode": settings.in_test_mode(),
        "test_mode_until": until.isoformat() if until and settings.in_test_mode() else None,
        "ldu": settings.ldu,
        "ldu_choices": list(LDU_CHOICES),
        "order_states": [{"id": s.id, "name": s.name, "key": s.key} for s in states],
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


@api.post("/test-event")
@requires("settings")
def api_test_event():
    """Send one test Refund with the given test_event_code (not saved) and return the answer."""
    body = json_body()
    try:
        result = send_test_event(load_settings(), body.get("test_event_code"))
    except CannotSendTestEvent as refused:
        raise ApiError(422, "invalid", str(refused), {"test_event_code": str(refused)}) from None
    return result.as_dict()
