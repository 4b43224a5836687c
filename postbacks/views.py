"""Back-office pages: every postback with its outcome (/admin/postbacks), and the settings page.

The postback token is shown masked; a merchant sees it in full only by asking (Show, or Rotate, which
answers with the new token on the page itself, never in a redirect or the session).
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField
from wtforms.validators import Optional

try:  # wtforms 3.3 deprecates (value, label) tuples for choices
    from wtforms.fields.choices import SelectChoice as choice
except ImportError:  # pragma: no cover

    def choice(value, label):
        """Return a (value, label) choice."""
        return (value, label)


from core.access import protect_browser_blueprint, requires
from core.inputs import page_number
from extensions import db
from postbacks import settings
from postbacks.api import postback_url
from postbacks.models import STATUSES, Postback

bp = Blueprint("postbacks", __name__, url_prefix="/admin/postbacks")
protect_browser_blueprint(bp)

PER_PAGE = 50


class StatusFilterForm(FlaskForm):
    """Filter the list by outcome."""

    class Meta:
        csrf = False

    status = SelectField(
        "Outcome", choices=[choice("", "All")] + [choice(s, s) for s in STATUSES], validators=[Optional()]
    )


class ConfirmForm(FlaskForm):
    """A button that needs only its CSRF token (show or rotate the token)."""


class StripeSecretForm(FlaskForm):
    """The Stripe webhook signing secret; left empty, the stored one stays."""

    stripe_webhook_secret = PasswordField("Stripe webhook signing secret (whsec_…)", validators=[Optional()])


@bp.get("")
@requires("settings.view")
def postbacks():
    """List every postback, newest first, with its outcome; paginated and filterable by outcome."""
    form = StatusFilterForm(formdata=request.args)
    status = form.status.data if form.validate() else ""
    statement = select(Postback).order_by(Postback.id.desc())
    if status:
        statement = statement.where(Postback.status == status)
    page = request.args.get("page", 1, type=page_number)
    pagination = db.paginate(statement, page=page, per_page=PER_PAGE, error_out=False)
    return render_template(
        "postbacks/list.html", form=form, pagination=pagination, args={"status": status} if status else {}
    )


def _settings_page(revealed_token: str | None = None, form: StripeSecretForm | None = None, status: int = 200):
    row = settings.config()
    token = revealed_token or settings.mask(row.token)
    page = render_template(
        "postbacks/settings.html",
        token=token,
        revealed=revealed_token is not None,
        url=postback_url(token),
        stripe_secret=settings.mask(row.stripe_webhook_secret, "whsec_"),
        stripe_url=url_for("postbacks_api.stripe_webhook", _external=True),
        rotated_at=row.token_rotated_at,
        can_edit=current_user.can("settings"),
        confirm=ConfirmForm(),
        stripe_form=form or StripeSecretForm(formdata=None),
    )
    db.session.commit()  # the first visit creates the token
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/settings")
@requires("settings.view")
def settings_page():
    """Show the postback URL (token masked) and the Stripe webhook settings."""
    return _settings_page()


@bp.post("/settings/show-token")
@requires("settings")
def show_token():
    """Show the page with the token in full, on a deliberate request."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".settings_page"))
    return _settings_page(revealed_token=settings.config().token)


@bp.post("/settings/rotate-token")
@requires("settings")
def rotate_token():
    """Replace the token (networks holding the old one get 401 from now on) and show the new one."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".settings_page"))
    token = settings.rotate_token()
    flash("A new postback token was made: give the new URL to your networks; the old one no longer works.", "success")
    return _settings_page(revealed_token=token)


@bp.post("/settings/stripe")
@requires("settings")
def save_stripe():
    """Store the Stripe webhook signing secret; an empty field keeps the stored one."""
    form = StripeSecretForm()
    if form.validate_on_submit():
        value = (form.stripe_webhook_secret.data or "").strip()
        if not value:
            flash("The Stripe secret was left as it is.", "info")
            return redirect(url_for(".settings_page"))
        try:
            settings.save_stripe_secret(value)
        except settings.SecretInvalid as error:
            db.session.rollback()
            form.stripe_webhook_secret.errors = [str(error)]
        else:
            db.session.commit()
            flash("Stripe webhook secret saved.", "success")
            return redirect(url_for(".settings_page"))
    flash("The Stripe secret was not saved: correct the field marked below.", "error")
    return _settings_page(form=form, status=422)
