"""What the GA4 and Google Ads senders share: settings read at send time, answers classified, registration.

A module's sender subclasses ``SettingsSender`` (its destination name, batch size, settings module, and
its own ``send`` and ``describe``) and registers it with ``register_sender``; the module is enabled for
the delivery service exactly when its settings say so.
"""

from collections.abc import Callable
from datetime import datetime
from importlib import import_module

from flask import Flask

from delivery.http import Answer, HttpClient
from delivery.registry import DELIVERED, PERMANENT, TRANSIENT, Destination, register_destination
from extensions import db


class SettingsSender:
    """A sender that reads its module's settings when it sends (secrets are never kept on the sender)."""

    destination: str
    batch_size: int
    settings_module: str  # the module whose load_settings() reads them, e.g. ga4.settings

    def __init__(self, client: HttpClient, settings_loader: Callable[[], object] | None = None):
        self.client = client
        self.settings_loader = settings_loader or self.load_settings

    @classmethod
    def load_settings(cls):
        """Return the module's settings now (imported late: a module's settings import the shop's models)."""
        return import_module(cls.settings_module).load_settings()

    def settings_now(self):
        """Return the settings, secrets included, and end the transaction: none stays open during the HTTP call."""
        settings = self.settings_loader()
        db.session.commit()
        return settings

    @classmethod
    def enabled(cls) -> bool:
        """Whether the module is switched on (its settings)."""
        return bool(cls.load_settings().enabled)

    def classify(self, answer: Answer) -> str:
        """Return sent for any 2xx, transient for network errors, 5xx, 408 and 429, permanent otherwise."""
        if answer.ok:
            return DELIVERED
        return TRANSIENT if answer.retryable else PERMANENT

    def bad_event_index(self, answer: Answer, count: int) -> int | None:
        """Google never blames one event for a whole request."""
        return None


def register_sender(
    app: Flask, sender: type[SettingsSender], display_name: str, window: Callable[[object], datetime]
) -> None:
    """Register a module's destination with the delivery service, enabled by the module's settings."""
    register_destination(
        app,
        Destination(
            name=sender.destination,
            display_name=display_name,
            sender=sender,
            window=window,
            enabled=sender.enabled,
            batch_size=sender.batch_size,
        ),
    )
