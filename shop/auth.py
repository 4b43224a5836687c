"""Employee sign-in: login and logout pages, the session loader and the API-key loader."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from extensions import db, login_manager
from shop.models import Employee, hash_api_key

bp = Blueprint("auth", __name__, url_prefix="/admin")


class LoginForm(FlaskForm):
    """The back-office sign-in form."""

    # No format check: wtforms' Email() needs the email_validator package, which also refuses
    # reserved domains (.test); an address that is not an employee's simply fails to sign in.
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired()])


@login_manager.user_loader
def load_employee(employee_id: str) -> Employee | None:
    """Return the signed-in employee of a session."""
    return db.session.get(Employee, int(employee_id)) if employee_id.isdigit() else None


def employee_for_api_key(key: str) -> Employee | None:
    """Return the active employee owning an API key."""
    employee = db.session.scalar(select(Employee).filter_by(api_key_hash=hash_api_key(key)))
    return employee if employee is not None and employee.active else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign an employee in."""
    form = LoginForm()
    if form.validate_on_submit():
        employee = db.session.scalar(
            select(Employee).where(func.lower(Employee.email) == form.email.data.strip().lower())
        )
        if employee is not None and employee.active and employee.check_password(form.password.data):
            login_user(employee)
            return redirect(safe_next(request.args.get("next")) or url_for("backoffice.orders"))
        form.password.errors.append("Wrong e-mail or password.")
    return render_template("backoffice/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign the employee out."""
    if current_user.is_authenticated:
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
