"""Employee sign-in: login and logout pages, the session loader and the API-key loader.

A session cookie holds the employee id and their session version (``Employee.get_id``): signing out
or changing the password raises the version, so every copy of an older cookie stops working.
Failed sign-ins are throttled per account and per client (``shop.login_throttle``).
"""

from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from core.inputs import MAX_ID
from extensions import db, login_manager
from shop import login_throttle
from shop.models import Employee, hash_api_key

bp = Blueprint("auth", __name__, url_prefix="/admin")


class LoginForm(FlaskForm):
    """The back-office sign-in form."""

    # No format check: wtforms' Email() needs the email_validator package, which also refuses
    # reserved domains (.test); an address that is not an employee's simply fails to sign in.
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired()])


@login_manager.user_loader
def load_employee(session_id: str) -> Employee | None:
    """Return the employee of a session cookie ("id.version"), or None once that session has ended."""
    employee_id, _, version = session_id.partition(".")
    if not (employee_id.isascii() and employee_id.isdigit() and version.isascii() and version.isdigit()):
        return None  # also a cookie from before session versions: sign in again
    if int(employee_id) > MAX_ID:
        return None
    employee = db.session.get(Employee, int(employee_id))
    if employee is None or str(employee.session_version or 0) != version:
        return None
    return employee


@cache
def _dummy_password_hash() -> str:
    # Hashed like a real password, so an unknown e-mail costs the same time as a wrong password.
    return generate_password_hash("not an employee's password")


def employee_for_api_key(key: str) -> Employee | None:
    """Return the active employee owning an API key."""
    employee = db.session.scalar(select(Employee).filter_by(api_key_hash=hash_api_key(key)))
    return employee if employee is not None and employee.active else None


@bp.route("/login", methods=["GET", "POST"])
@login_throttle.per_account
@login_throttle.per_client
def login():
    """Sign an employee in."""
    form = LoginForm()
    if form.validate_on_submit():
        employee = db.session.scalar(
            select(Employee).where(func.lower(Employee.email) == form.email.data.strip().lower())
        )
        if employee is None:
            check_password_hash(_dummy_password_hash(), form.password.data)
        elif employee.active and employee.check_password(form.password.data):
            login_user(employee)
            return redirect(safe_next(request.args.get("next")) or url_for("backoffice.orders"))
        g.login_failed = True  # counted by the throttle
        form.password.errors.append("Wrong e-mail or password.")
    return render_template("backoffice/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign the employee out, ending every session they have (a copied cookie stops working too)."""
    if current_user.is_authenticated:
        employee = current_user._get_current_object()
        if isinstance(employee, Employee):
            employee.end_sessions()
            db.session.commit()
        logout_user()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def safe_next(target: str | None) -> str | None:
    """Return target when it is a path on this site (never another host), else None."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
