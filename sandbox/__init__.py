"""An embedded emulation of Meta's Graph API Conversions endpoint, for offline use and tests."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the sandbox under /sandbox."""
