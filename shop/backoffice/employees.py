"""Back-office employees: list, create, roles, passwords and API keys (superadmin only)."""

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_user
from sqlalchemy import select

from core.access import requires
from extensions import db
from shop.backoffice import bp
from shop.backoffice.forms import ConfirmForm, EmployeeCreateForm, EmployeeEditForm, PasswordResetForm
from shop.backoffice.staff import (
    StaffChangeRefused,
    create_employee_account,
    regenerate_api_key,
    reset_password,
    update_employee,
)
from shop.models import Employee


@bp.get("/employees")
@requires("staff")
def employees():
    """List the employees."""
    staff = db.session.scalars(select(Employee).order_by(Employee.email))
    return render_template("backoffice/employees.html", employees=list(staff))


@bp.route("/employees/new", methods=["GET", "POST"])
@requires("staff")
def new_employee():
    """Create an employee, then show their API key once."""
    form = EmployeeCreateForm()
    if form.validate_on_submit():
        try:
            employee, key = create_employee_account(
                form.email.data, form.role.data, form.password.data, form.firstname.data or "", form.lastname.data or ""
            )
        except StaffChangeRefused as refusal:
            db.session.rollback()
            _field_error(form, refusal)
        else:
            db.session.commit()
            flash(f"Employee {employee.email} created.", "success")
            return _show_key_once(employee, key, created=True)
    return render_template("backoffice/employee_new.html", form=form), 422 if form.errors else 200


@bp.route("/employees/<int:employee_id>", methods=["GET", "POST"])
@requires("staff")
def edit_employee(employee_id: int):
    """Edit an employee's names, role and whether they may sign in."""
    employee = _employee_or_404(employee_id)
    form = EmployeeEditForm(obj=employee)
    if form.validate_on_submit():
        try:
            update_employee(
                employee,
                current_user._get_current_object(),
                form.role.data,
                bool(form.active.data),
                form.firstname.data or "",
                form.lastname.data or "",
            )
        except StaffChangeRefused as refusal:
            db.session.rollback()
            _field_error(form, refusal)
        else:
            db.session.commit()
            flash(f"Employee {employee.email} saved.", "success")
            return redirect(url_for("backoffice.employees"))
    return _render_edit(employee, form=form), 422 if form.errors else 200


@bp.post("/employees/<int:employee_id>/password")
@requires("staff")
def reset_employee_password(employee_id: int):
    """Give an employee a new password."""
    employee = _employee_or_404(employee_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            reset_password(employee, form.password.data)
        except StaffChangeRefused as refusal:
            db.session.rollback()
            _field_error(form, refusal)
        else:
            db.session.commit()
            if employee.id == current_user.id:
                login_user(employee)  # a new password ends every session, but not the one that set it
            flash(f"The password of {employee.email} was reset.", "success")
            return redirect(url_for("backoffice.edit_employee", employee_id=employee.id))
    return _render_edit(employee, password_form=form), 422


@bp.route("/employees/<int:employee_id>/api-key", methods=["GET", "POST"])
@requires("staff")
def regenerate_employee_api_key(employee_id: int):
    """Ask to confirm, then give an employee a new API key and show it once."""
    employee = _employee_or_404(employee_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        key = regenerate_api_key(employee)
        db.session.commit()
        flash(f"A new API key was made for {employee.email}; the old one no longer works.", "success")
        return _show_key_once(employee, key, created=False)
    return render_template("backoffice/api_key_confirm.html", employee=employee, form=form)


def _show_key_once(employee: Employee, key: str, created: bool):
    """Render the page that shows a new API key; never cached, never redirected."""
    # Rendered, not redirected: the key must not travel through the (signed, not encrypted) session.
    response = make_response(render_template("backoffice/api_key.html", employee=employee, key=key, created=created))
    response.headers["Cache-Control"] = "no-store"
    return response


def _render_edit(employee: Employee, form=None, password_form=None):
    return render_template(
        "backoffice/employee_edit.html",
        employee=employee,
        form=form or EmployeeEditForm(formdata=None, obj=employee),
        password_form=password_form or PasswordResetForm(formdata=None),
        is_self=employee.id == current_user.id,
    )


def _employee_or_404(employee_id: int) -> Employee:
    employee = db.session.get(Employee, employee_id)
    if employee is None:
        abort(404)
    return employee


def _field_error(form, refusal: StaffChangeRefused) -> None:
    if refusal.field and refusal.field in form:
        form[refusal.field].errors.append(str(refusal))
    else:
        form.form_errors.append(str(refusal))
