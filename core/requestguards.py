"""Guards every request passes before its view: form pages take forms, and no value holds a NUL.

Flask-WTF reads a JSON body as the form's data, so ``[1, 2]`` posted to a page was a 500 and a JSON
object could put lists and objects where a form has text: pages refuse JSON with 415. The endpoints
that take JSON (APIs, the sandbox's services, webhooks) are exactly those exempt from CSRF, which are
left alone. A NUL character in a query or form value is never text anyone meant, and PostgreSQL
refuses it in any query: it is a 400 before a view sees it.
"""

from flask import Flask, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def init_app(app: Flask, csrf) -> None:
    """Refuse JSON bodies sent to form endpoints, and NUL in query and form values."""

    @app.before_request
    def _no_nul():
        values = list(request.args.values())
        # Pages' forms only: a machine endpoint reads its own body, under its own size limits.
        if request.method not in SAFE_METHODS and request.mimetype in FORM_TYPES and not _machine_endpoint():
            values += list(request.form.values())
        if any("\x00" in value for value in values):
            raise BadRequest("A value holds a NUL character.")

    @app.before_request
    def _forms_take_form_bodies():
        if request.method in SAFE_METHODS or not request.is_json or _machine_endpoint():
            return
        raise UnsupportedMediaType("This page takes a form, not a JSON body.")

    def _machine_endpoint() -> bool:
        # Flask-WTF's own test of a CSRF-exempt endpoint: an API, a sandbox service or a webhook.
        return request.endpoint is None or csrf._is_exempt()
