"""Pixel Plus: sends a custom Refund event to Meta's Conversions API when an order is refunded."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Install the module: settings, receivers, blueprint, commands."""
