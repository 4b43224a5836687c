"""A refund module's settings page (/admin/<module>/settings) and JSON API (/api/<module>/settings).

Built from the module's fields: merchants change the settings, testers see them read-only; secrets are
only ever shown masked and an empty secret field leaves the stored one as it is.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core.access import protect_api_blueprint, protect_browser_blueprint, requires
from core.apierrors import ApiError, json_body, register_json_errors
from extensions import csrf, db
from modulekit.settings import Field, SettingsInvalid, load, public, save
from shop.models import OrderState


@dataclass(frozen=True)
class SettingsPage:
    """What a module's settings page and API need to know."""

    name: str  # url segment and endpoint prefix: ga4, googleads
    title: str
    intro: str
    fields: tuple[Field, ...]
    required_when_enabled: dict[str, str]
    extra_template: str | None = None  # included below the form (test event, CSV export…)
    extra_context: Callable[[dict], dict] = field(default=lambda values: {})
    blueprint: str = ""  # the blueprints' name when ``<name>_settings`` is taken (webhooks: its endpoints page)


def make_blueprints(page: SettingsPage) -> tuple[Blueprint, Blueprint]:
    """Return the settings page's blueprint and its JSON API's blueprint."""
    name = page.blueprint or f"{page.name}_settings"
    bp = Blueprint(name, __name__, url_prefix=f"/admin/{page.name}")
    protect_browser_blueprint(bp)
    api = Blueprint(f"{name}_api", __name__, url_prefix=f"/api/{page.name}")
    csrf.exempt(api)  # API calls authenticate with a key, never the session cookie
    protect_api_blueprint(api)
    register_json_errors(api)

    def render(values: dict, errors: dict[str, str], status: int = 200):
        states = list(db.session.scalars(select(OrderState).order_by(OrderState.id)))
        return (
            render_template(
                "modulekit/settings.html",
                page=page,
                values=values,
                shown=public(page.fields, values),
                errors=errors,
                states=states,
                can_edit=current_user.can("settings"),
                **page.extra_context(values),
            ),
            status,
        )

    @bp.get("/settings")
    @requires("settings.view")
    def settings():
        """Show the settings (read-only without the ``settings`` permission)."""
        return render(load(page.fields), {})

    @bp.post("/settings")
    @requires("settings")
    def save_page():
        """Validate and store the settings; on a refusal show every message and store nothing."""
        changes = changes_from_form(page.fields, request.form)
        try:
            save(page.fields, changes, page.required_when_enabled)
        except SettingsInvalid as error:
            db.session.rollback()
            flash("The settings were not saved: correct the fields marked below.", "error")
            return render({**load(page.fields), **_shown_back(changes, page.fields)}, error.fields, 422)
        db.session.commit()
        flash(f"{page.title} settings saved.", "success")
        return redirect(url_for(".settings"))

    @api.get("/settings")
    @requires("settings.view")
    def get_settings():
        """Return the settings, secrets masked."""
        return public(page.fields, load(page.fields))

    @api.put("/settings")
    @requires("settings")
    def put_settings():
        """Change any subset of the settings; 422 with a message per field, nothing stored."""
        try:
            values = save(page.fields, json_body(), page.required_when_enabled)
        except SettingsInvalid as error:
            db.session.rollback()
            raise ApiError(422, "invalid", "the settings were not saved", error.fields) from None
        db.session.commit()
        return public(page.fields, values)

    return bp, api


def changes_from_form(fields: tuple[Field, ...], form) -> dict:
    """Read the settings form into typed changes (what the JSON API would receive)."""
    changes: dict = {}
    for item in fields:
        if item.kind == "bool":
            changes[item.name] = form.get(item.name) == "on"
        elif item.kind == "ids":
            changes[item.name] = [_number(v) for v in form.getlist(item.name)]
        elif item.kind == "kinds":
            changes[item.name] = {
                key.removeprefix("kind_"): value for key, value in form.items() if key.startswith("kind_")
            }
        elif item.name in form:
            changes[item.name] = form.get(item.name, "")
    return changes


def _number(text: str):
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else text


def _shown_back(changes: dict, fields: tuple[Field, ...]) -> dict:
    """The refused form's values to show again: never a secret."""
    secret = {f.name for f in fields if f.secret}
    return {name: value for name, value in changes.items() if name not in secret and isinstance(value, str | bool)}
