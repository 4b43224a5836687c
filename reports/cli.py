"""The `flask reports …` command: rebuild the summary rows (after an upgrade or a raw import)."""

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
