"""Pixel Plus: sends a custom Refund event to Meta's Conversions API when an order is refunded."""

from flask import Flask

VERSION = "1.0.0"


def init_app(app: Flask) -> None:
    """Install the module: settings, receivers, blueprint, commands."""
    from pixelplus import models  # noqa: F401  (tables must be known before create_all)
