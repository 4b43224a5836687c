"""Deny-by-default access control for blueprints, in a browser session or with an API key.

Every view of a protected blueprint must declare what it needs with ``@requires(permission)``
(or ``@public``); a view that declares nothing is refused, so a new route cannot slip through.
The signed-in user is whatever flask-login loads and only needs a ``can(permission)`` method,
so sandbox can use this without importing the shop.
"""

from collections.abc import Callable

from flask import Blueprint, current_app, g, redirect, request, url_for
from flask_login import current_user

from core.apierrors import error_response

PUBLIC = "public"
API_KEY_LOADER = "core.access.api_key_loader"


def requires(permission: str) -> Callable:
    """Declare the permission a view needs."""

    def decorate(view):
        view.permission = permission
        return view

    return decorate


def public(view):
    """Declare a view open to everyone (the protected blueprint leaves it alone)."""
    view.permission = PUBLIC
    return view


def permission_of(endpoint: str | None) -> str | None:
    """Return the permission the view behind endpoint declares, or None."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return getattr(view, "permission", None)


def set_api_key_loader(app, loader: Callable[[str], object | None]) -> None:
    """Register how an API key (``Authorization: Bearer <key>``) becomes a user."""
    app.extensions[API_KEY_LOADER] = loader


def _user_from_api_key():
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    loader = current_app.extensions.get(API_KEY_LOADER)
    return loader(key.strip()) if loader else None


def protect_browser_blueprint(blueprint: Blueprint) -> None:
    """Require a signed-in user with the view's permission; anonymous users go to the login page."""

    @blueprint.before_request
    def _check():
        permission = permission_of(request.endpoint)
        if permission == PUBLIC:
            return None
        if not current_user.is_authenticated:
            if request.headers.get("HX-Request") == "true":
                # A live fragment polled after the session ended: reload the page (which goes to the login
                # page) rather than swap the login form into the middle of it.
                return "", 401, {"HX-Refresh": "true"}
            return redirect(url_for(current_app.login_manager.login_view, next=request.full_path))
        if permission is None or not current_user.can(permission):
            return _forbidden_page()
        return None


def protect_api_blueprint(blueprint: Blueprint) -> None:
    """Require an API key with the view's permission; answers 401/403 in the JSON error shape.

    API calls authenticate by key only, never by the session cookie: that is why API blueprints
    can be exempt from CSRF.
    """

    @blueprint.before_request
    def _check():
        permission = permission_of(request.endpoint)
        if permission == PUBLIC:
            return None
        user = _user_from_api_key()
        if user is None:
            return error_response(401, "unauthorized", "missing or invalid API key (Authorization: Bearer <key>)")
        g._login_user = user  # flask-login's per-request slot, so current_user is the key's owner
        if permission is None or not user.can(permission):
            return error_response(403, "forbidden", f"the role '{getattr(user, 'role', '?')}' may not do this")
        return None


def _forbidden_page():
    from flask import render_template

    return render_template("forbidden.html"), 403
