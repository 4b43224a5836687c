"""The `flask reports …` commands: roll up what changed, rebuild the summary rows (after an upgrade or an import)."""

import time

import click
from flask.cli import AppGroup

reports_cli = AppGroup("reports", help="The reports' summary rows.")


@reports_cli.command("rebuild")
def rebuild_command() -> None:
    """Compute every order's summary rows again (the reports keep them up to date after that)."""
    from reports.summary import rebuild

    started = time.perf_counter()
    orders = rebuild(progress=lambda done, last: click.echo(f"{done}/{last} orders", err=True))
    click.echo(f"summary rows rebuilt for {orders} orders in {time.perf_counter() - started:.1f} s")


@reports_cli.command("roll-up")
def roll_up_command() -> None:
    """Add every change waiting for the reports now (what a report would otherwise leave to the background)."""
    from reports.summary import roll_up

    started = time.perf_counter()
    orders = roll_up()
    click.echo(f"{orders} changed orders rolled up in {time.perf_counter() - started:.1f} s")
