"""The `flask shop …` commands: init-demo, create-employee and bulk-jobs."""

import secrets

import click
from flask import Flask, current_app
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


@shop_cli.command("init-demo")
def init_demo_command() -> None:
    """Bring the schema up to date, create the demo shop (safe to run twice) and print the demo logins."""
    from core.schema import upgrade_schema
    from shop.demo import init_demo

    upgrade_schema()
    report = init_demo(current_app._get_current_object())
    if report.created:
        click.echo(
            f"Demo shop created: {report.products} products, {report.customers} customers, "
            f"{report.orders} orders, {report.credit_slips} credit slips."
        )
    else:
        click.echo("Demo shop already present: no data added; demo logins reset.")
    click.echo("")
    click.echo("Demo logins (back office: /admin/login; API: Authorization: Bearer <API key>)")
    width = max(len(login.email) for login in report.logins)
    click.echo(f"  {'e-mail':<{width}}  {'password':<16}  {'role':<10}  API key")
    for login in report.logins:
        click.echo(f"  {login.email:<{width}}  {login.password:<16}  {login.role:<10}  {login.api_key}")


@shop_cli.command("bulk-jobs")
def bulk_jobs_command() -> None:
    """Run the queued bulk status changes (and those a dead process left) to the end, then exit."""
    from shop.bulk_jobs import run_pending

    finished = run_pending()
    click.echo(f"{finished} bulk job(s) finished")
