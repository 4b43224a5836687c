"""The `flask shop …` commands: init-demo and create-employee."""

import secrets

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from extensions import db
from shop.models import ROLES, Employee

shop_cli = AppGroup("shop", help="Set up and administer the shop.")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(shop_cli)


def create_employee(email: str, role: str, password: str) -> tuple[Employee, str]:
    """Create (or update the role and password of) an employee; return it with a fresh API key."""
    employee = db.session.scalar(select(Employee).filter_by(email=email))
    if employee is None:
        employee = Employee(email=email, role=role)
        db.session.add(employee)
    employee.role = role
    employee.set_password(password)
    key = employee.new_api_key()
    db.session.commit()
    return employee, key


@shop_cli.command("create-employee")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the employee may do.")
@click.option("--password", help="Sign-in password (a random one is printed when omitted).")
def create_employee_command(email: str, role: str, password: str | None) -> None:
    """Create an employee; print the API key as the last line."""
    shown = password is None
    password = password or secrets.token_urlsafe(12)
    employee, key = create_employee(email.strip(), role, password)
    click.echo(f"employee {employee.email} ({employee.role})")
    if shown:
        click.echo(f"password: {password}")
    click.echo(key)
