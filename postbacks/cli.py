"""Commands: ``flask postbacks process`` (once) and ``flask postbacks worker`` (until stopped)."""

import signal
import threading

import click
from flask import Flask
from flask.cli import AppGroup

from extensions import db
from postbacks.processing import process_pending

group = AppGroup("postbacks", help="Process queued refund postbacks and Stripe events.")


@group.command("process")
def process_command():
    """Process every queued postback once, then exit with a one-line summary."""
    click.echo(f"processed {process_pending()} postback(s)")


@group.command("worker")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks for queued postbacks.")
def worker_command(poll: float):
    """Keep processing queued postbacks until SIGTERM/SIGINT (the postback in hand is finished)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    total = 0
    while not stop.is_set():
        try:
            total += process_pending()
        except Exception as error:  # the database may be briefly away; try again on the next look
            db.session.rollback()
            click.echo(f"processing pass failed: {type(error).__name__}", err=True)
        stop.wait(poll)
    click.echo(f"stopped after processing {total} postback(s)")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(group)
