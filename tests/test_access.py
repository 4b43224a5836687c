"""Roles on every back-office route and API endpoint, and CSRF on every form, from the live URL map.

The routes are enumerated from ``app.url_map`` at run time, so a route anyone adds later is checked
without touching this file: it must declare a permission, refuse anonymous callers (login page or
401), refuse every role lacking the permission (403), and let the roles having it through.
"""

import re

import pytest
from sqlalchemy import func, select

from app import create_app
from core.access import PUBLIC, permission_of
from extensions import db
from shop.models import ROLE_PERMISSIONS, ROLES
from tests.conftest import PASSWORD

PROTECTED_PREFIXES = ("/admin", "/api", "/sandbox")
API_PREFIXES = ("/api/", "/sandbox/api/")
SIGN_IN_ENDPOINTS = {"auth.login", "auth.logout"}  # the door itself
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
DUMMY_ID = 987654  # an id nothing has, so a permitted request cannot change a real row


def is_static(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.endswith(".static")


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def dummy_url(rule) -> str:
    """Fill a rule's arguments with values its converters accept but no row has."""

    def fill(match) -> str:
        converter, arguments = match.group(1), match.group(2) or ""
        if converter == "int":
            return str(DUMMY_ID)
        if converter == "float":
            return f"{DUMMY_ID}.5"
        if converter == "uuid":
            return "00000000-0000-4000-8000-000000000000"
        if converter == "any":
            return arguments.split(",")[0].strip(" '\"")
        return "x"

    return re.sub(r"<(?:(\w+)(?:\(([^)]*)\))?:)?\w+>", fill, rule.rule)


def protected_routes(app) -> list[tuple[str, str, str, str | None]]:
    """(method, url, endpoint, permission) of every protected route, from the URL map."""
    routes = []
    with app.app_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith(PROTECTED_PREFIXES) or is_static(rule.endpoint):
                continue
            if rule.endpoint in SIGN_IN_ENDPOINTS:
                continue
            permission = permission_of(rule.endpoint)
            if permission == PUBLIC:
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, dummy_url(rule), rule.endpoint, permission))
    return routes


@pytest.fixture
def routes(app) -> list:
    found = protected_routes(app)
    assert len(found) > 20, "the URL map should hold the shop's protected routes"
    return found


@pytest.fixture
def browsers(app, staff) -> dict:
    """A signed-in test client per role."""
    clients = {}
    for role in ROLES:
        client = app.test_client()
        response = client.post("/admin/login", data={"email": staff.email(role), "password": PASSWORD})
        assert response.status_code == 302, f"{role} could not sign in"
        clients[role] = client
    return clients


def call(client, method: str, url: str, headers: dict | None = None):
    kwargs = {"json": {}} if is_api(url) and method in UNSAFE_METHODS else {}
    response = client.open(url, method=method, headers=headers or {}, **kwargs)
    response.get_data()
    response.close()  # a streamed download must finish before the next request's context
    return response


def test_every_protected_view_declares_a_known_permission(routes):
    known = set().union(*ROLE_PERMISSIONS.values())
    undeclared = [(m, url, endpoint) for m, url, endpoint, permission in routes if permission is None]
    assert undeclared == [], "views without @requires(...) or @public"
    unknown = [(url, permission) for _, url, _, permission in routes if permission not in known]
    assert unknown == [], "permissions no role has"


def test_anonymous_callers_go_to_the_login_page_or_get_401(client, routes):
    wrong = []
    for method, url, endpoint, _ in routes:
        response = call(client, method, url)
        if is_api(url):
            ok = response.status_code == 401 and response.is_json and response.json["error"]["code"]
        else:
            ok = response.status_code == 302 and "/admin/login" in response.headers.get("Location", "")
        if not ok:
            wrong.append((method, url, endpoint, response.status_code))
    assert wrong == []


def test_roles_lacking_the_permission_get_403(client, staff, browsers, routes):
    wrong = []
    for method, url, endpoint, permission in routes:
        for role in ROLES:
            if permission in ROLE_PERMISSIONS[role]:
                continue
            if is_api(url):
                response = call(client, method, url, staff.headers(role))
                ok = response.status_code == 403 and response.is_json
            else:
                response = call(browsers[role], method, url)
                ok = response.status_code == 403
            if not ok:
                wrong.append((role, method, url, endpoint, response.status_code))
    assert wrong == []


def test_roles_having_the_permission_get_through(client, staff, browsers, routes):
    wrong = []
    for method, url, endpoint, permission in routes:
        for role in ROLES:
            if permission not in ROLE_PERMISSIONS[role]:
                continue
            if is_api(url):
                response = call(client, method, url, staff.headers(role))
            else:
                response = call(browsers[role], method, url)
            # 404 (dummy id), 400/422 (empty body) or a redirect are fine: the door opened.
            if response.status_code in (401, 403) or response.status_code >= 500:
                wrong.append((role, method, url, endpoint, response.status_code))
    assert wrong == []


def test_api_keys_only_open_the_api(client, staff):
    """A key is not a session: back-office pages still send it to the login page."""
    response = client.get("/admin/orders", headers=staff.headers("superadmin"))
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


# --- CSRF ------------------------------------------------------------------------------------------


def table_counts() -> dict:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables
    }


@pytest.fixture
def csrf_app(app_config, app, staff):
    """The app with CSRF protection on (as in production), on the test database."""
    return create_app({**app_config, "WTF_CSRF_ENABLED": True})


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "the login page has no csrf_token field"
    return match.group(1)


def test_every_form_post_needs_a_csrf_token(csrf_app, staff):
    client = csrf_app.test_client()
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    login = {"email": staff.email("superadmin"), "password": PASSWORD}
    assert client.post("/admin/login", data=login).status_code == 400  # no token: refused
    assert client.post("/admin/login", data={**login, "csrf_token": token}).status_code == 302

    targets = []
    with csrf_app.app_context():
        for rule in csrf_app.url_map.iter_rules():
            if is_api(rule.rule) or is_static(rule.endpoint) or permission_of(rule.endpoint) == PUBLIC:
                continue
            targets += [(method, dummy_url(rule)) for method in sorted(rule.methods & UNSAFE_METHODS)]
        before = table_counts()
    assert len(targets) > 5

    wrong = []
    for method, url in targets:
        response = client.open(url, method=method, data={"anything": "1"})
        response.close()
        if response.status_code != 400:
            wrong.append((method, url, response.status_code))
    assert wrong == []
    with csrf_app.app_context():
        assert table_counts() == before
    # Still signed in: the refused posts did nothing, logout included.
    assert client.get("/admin/orders").status_code == 200


def test_the_api_needs_no_csrf_token(csrf_app, staff, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    client = csrf_app.test_client()
    with csrf_app.app_context():
        from shop.models import OrderState

        refunded = OrderState.by_key("PS_OS_REFUND").id
    response = client.post(
        f"/api/orders/{order_id}/status", json={"state_id": refunded}, headers=staff.headers("admin")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["current_state"]["id"] == refunded


def test_a_new_undeclared_route_is_caught_and_refused(app_config, app, staff):
    """What the checks above rely on: a route added anywhere shows up, and deny-by-default holds."""
    fresh = create_app(app_config)

    def sneaky():
        return "secret"

    fresh.add_url_rule("/admin/sneaky", endpoint="backoffice.sneaky", view_func=sneaky)
    found = [route for route in protected_routes(fresh) if route[1] == "/admin/sneaky"]
    assert found == [("GET", "/admin/sneaky", "backoffice.sneaky", None)]
    browser = fresh.test_client()
    assert browser.get("/admin/sneaky").status_code == 302
    browser.post("/admin/login", data={"email": staff.email("superadmin"), "password": PASSWORD})
    assert browser.get("/admin/sneaky").status_code == 403
