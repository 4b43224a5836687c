"""Delivery commands: ``flask delivery dispatch``, ``worker`` and ``purge`` (every destination, or one
with ``--destination``). A module may offer the same commands under its own name (``flask pixelplus``)."""

import logging
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from delivery.dispatcher import Dispatcher, Summary, purge_sent
from extensions import db

log = logging.getLogger(__name__)

destination_option = click.option(
    "--destination", "destination", default=None, metavar="NAME", help="Only this destination (e.g. meta_capi)."
)


def init_app(app: Flask) -> None:
    """Register the delivery command group."""
    app.cli.add_command(command_group("delivery", "Deliver queued events to every destination, purge old ones."))


def command_group(name: str, help_text: str) -> AppGroup:
    """Return a command group holding dispatch, worker and purge (a module's alias uses its own name)."""
    group = AppGroup(name, help=help_text)
    for command in (dispatch_command, worker_command, purge_command):
        group.add_command(command)
    return group


def _dispatcher(app, destination: str | None) -> Dispatcher:
    try:
        return Dispatcher(app, only=destination)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--destination") from None


@click.command("dispatch")
@with_appcontext
@destination_option
def dispatch_command(destination: str | None) -> None:
    """Deliver every event that is due, once, then print a one-line summary."""
    dispatcher = _dispatcher(current_app._get_current_object(), destination)
    try:
        summary = dispatcher.run_once()
    finally:
        dispatcher.close()
    click.echo(str(summary))


@click.command("worker")
@with_appcontext
@click.option("--poll", type=float, default=None, help="Seconds between looks for new events (default 2).")
@destination_option
def worker_command(poll: float | None, destination: str | None) -> None:
    """Keep delivering until SIGTERM or SIGINT, which let the batch in flight finish."""
    app = current_app._get_current_object()
    poll = poll if poll is not None else float(app.config.get("PIXELPLUS_WORKER_POLL_SECONDS", 2.0))
    stop = threading.Event()

    def _stop(signum, _frame):
        click.echo(f"{signal.Signals(signum).name}: finishing the batch in flight", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    dispatcher = _dispatcher(app, destination)
    total = Summary()
    names = ", ".join(dispatcher.senders) or "no destination"
    click.echo(f"worker {dispatcher.worker} delivering to {names} (mode {app.config['PIXELPLUS_DISPATCH']})", err=True)
    try:
        while not stop.is_set():
            try:
                total.add(dispatcher.run_once(stop))
                wait = dispatcher.seconds_until_due()
            except Exception:
                # A database hiccup must not end the worker; the rows stay pending.
                log.exception("dispatch pass failed")
                db.session.rollback()
                wait = poll
            stop.wait(poll if wait is None else min(max(wait, 0.05), poll))
    finally:
        dispatcher.close()
    click.echo(f"worker stopped: {total}")


@click.command("purge")
@with_appcontext
@click.option("--days", type=click.IntRange(min=0), required=True, help="Keep sent events whole this many days.")
def purge_command(days: int) -> None:
    """Purge sent events older than N days: payloads, answers and attempts go; pending and failed stay."""
    events, attempts = purge_sent(days)
    click.echo(
        f"purged {events} sent event(s) older than {days} day(s) and {attempts} attempt(s); "
        "their event ids and values stay so no refund is reported twice"
    )
