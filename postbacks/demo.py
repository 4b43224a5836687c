"""The demo shop's postback setup: the Chargeback state exists and the shop has a postback token."""

from flask import Flask

from extensions import db
from postbacks import settings
from postbacks.processing import chargeback_state
from shop.signals import demo_data_created


def connect() -> None:
    """Connect the demo receiver (blinker ignores a second connection)."""
    demo_data_created.connect(on_demo_data_created)


def on_demo_data_created(app: Flask, **extra) -> None:
    """Install the Chargeback state (so merchants can pick it as a trigger) and make the postback token."""
    chargeback_state()
    settings.config()
    db.session.commit()
