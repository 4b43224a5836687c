"""Pages that take a form refuse a JSON body with 415.

Flask-WTF reads a JSON body as the form's data, so ``[1, 2]`` posted to a page was a 500 and a JSON
object could put lists and objects where a form has text. The endpoints that take JSON (APIs, the
sandbox's services, webhooks) are exactly those exempt from CSRF, which are left alone.
"""

from flask import Flask, request
from werkzeug.exceptions import UnsupportedMediaType

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def init_app(app: Flask, csrf) -> None:
    """Refuse JSON bodies sent to form endpoints."""

    @app.before_request
    def _forms_take_form_bodies():
        if request.method in SAFE_METHODS or not request.is_json or request.endpoint is None:
            return
        if csrf._is_exempt():  # Flask-WTF's own test: a machine endpoint, which takes JSON
            return
        raise UnsupportedMediaType("This page takes a form, not a JSON body.")
