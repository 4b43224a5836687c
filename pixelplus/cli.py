"""Pixel Plus commands: ``flask pixelplus dispatch``, ``worker`` and ``purge``."""

import logging
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from extensions import db
from pixelplus.dispatcher import Dispatcher, Summary, purge_sent

log = logging.getLogger(__name__)

pixelplus_cli = AppGroup("pixelplus", help="Pixel Plus: deliver queued events, purge old ones.")


def init_app(app: Flask) -> None:
    """Register the pixelplus command group."""
    app.cli.add_command(pixelplus_cli)


@pixelplus_cli.command("dispatch")
def dispatch_command() -> None:
    """Deliver every event that is due, once, then print a one-line summary."""
    dispatcher = Dispatcher(current_app._get_current_object())
    try:
        summary = dispatcher.run_once()
    finally:
        dispatcher.close()
    click.echo(str(summary))


@pixelplus_cli.command("worker")
@click.option("--poll", type=float, default=None, help="Seconds between looks for new events (default 2).")
def worker_command(poll: float | None) -> None:
    """Keep delivering until SIGTERM or SIGINT, which let the batch in flight finish."""
    app = current_app._get_current_object()
    poll = poll if poll is not None else float(app.config.get("PIXELPLUS_WORKER_POLL_SECONDS", 2.0))
    stop = threading.Event()

    def _stop(signum, _frame):
        click.echo(f"{signal.Signals(signum).name}: finishing the batch in flight", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    dispatcher = Dispatcher(app)
    total = Summary()
    click.echo(f"worker {dispatcher.worker} delivering (mode {app.config['PIXELPLUS_DISPATCH']})", err=True)
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


@pixelplus_cli.command("purge")
@click.option("--days", type=click.IntRange(min=0), required=True, help="Keep sent events whole this many days.")
def purge_command(days: int) -> None:
    """Purge sent events older than N days: payloads, answers and attempts go; pending and failed stay."""
    events, attempts = purge_sent(days)
    click.echo(
        f"purged {events} sent event(s) older than {days} day(s) and {attempts} attempt(s); "
        "their event ids and values stay so no refund is reported twice"
    )
