"""Employee accounts as a superadmin manages them: create, edit, reset passwords, new API keys.

Keys and passwords are stored hashed; a new API key is returned once for the page to show.
An employee may not deactivate or demote themself, so a shop never loses its last way in
by accident. The caller commits.
"""

from sqlalchemy import func, select

from extensions import db
from shop.models import ROLES, Employee

MIN_PASSWORD_LENGTH = 8


class StaffChangeRefused(ValueError):
    """An account change that may not happen, with the form field it concerns; nothing was changed."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def create_employee_account(
    email: str, role: str, password: str, firstname: str = "", lastname: str = ""
) -> tuple[Employee, str]:
    """Create an employee; return it with its API key (shown once, only the hash is kept)."""
    email = email.strip()
    if db.session.scalar(select(func.count()).where(func.lower(Employee.email) == email.lower())):
        raise StaffChangeRefused("An employee with this e-mail already exists.", "email")
    _check_role(role)
    _check_password(password)
    employee = Employee(email=email, role=role, firstname=firstname.strip(), lastname=lastname.strip(), active=True)
    employee.set_password(password)
    key = employee.new_api_key()
    db.session.add(employee)
    db.session.flush()
    return employee, key


def update_employee(
    employee: Employee, acting: Employee, role: str, active: bool, firstname: str = "", lastname: str = ""
) -> Employee:
    """Change an employee's names, role and whether they may sign in."""
    _check_role(role)
    if employee.id == acting.id:
        if role != employee.role:
            raise StaffChangeRefused("You cannot change your own role.", "role")
        if not active:
            raise StaffChangeRefused("You cannot deactivate yourself.", "active")
    employee.role = role
    employee.active = active
    employee.firstname = firstname.strip()
    employee.lastname = lastname.strip()
    db.session.flush()
    return employee


def reset_password(employee: Employee, password: str) -> None:
    """Give an employee a new password."""
    _check_password(password)
    employee.set_password(password)
    db.session.flush()


def regenerate_api_key(employee: Employee) -> str:
    """Replace an employee's API key (the old one stops working) and return the new one."""
    key = employee.new_api_key()
    db.session.flush()
    return key


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise StaffChangeRefused(f"Unknown role {role!r}.", "role")


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise StaffChangeRefused(f"Use at least {MIN_PASSWORD_LENGTH} characters.", "password")
