"""The demo shop's reports: its summary rows built right after its orders, so the first report is quick."""

from flask import Flask
from sqlalchemy import select

from extensions import db
from reports.models import ReportFact
from reports.summary import rebuild
from shop.signals import demo_data_created


def connect() -> None:
    """Connect the demo receiver (blinker ignores a second connection)."""
    demo_data_created.connect(on_demo_data_created)


def on_demo_data_created(app: Flask, **extra) -> None:
    """Build every order's summary rows (as `flask reports rebuild` does) the first time; later reports roll up."""
    if db.session.scalar(select(ReportFact.order_id).limit(1)) is None:
        rebuild()
