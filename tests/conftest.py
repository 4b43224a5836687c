"""Shared fixtures: the app on a fresh database, employees of every role, sign-in and API helpers."""

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from app import create_app
from core.background import BackgroundThread, started_threads
from extensions import db
from sandbox.versions import available_versions
from shop.models import ROLES, Customer, OrderState, Product
from shop.orders import CartLine, place_order
from shop.states import install_default_states

PASSWORD = "correct horse battery staple"
# The newest Graph version Meta serves today, from the sandbox's table: tests never pin one that expires.
GRAPH_VERSION = available_versions(datetime.now(UTC).date())[-1]


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run the long soak and load tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="long run: pass --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def database_uri(tmp_path) -> str:
    """The test database: FLASK_TEST_DATABASE_URI (e.g. PostgreSQL) or a fresh SQLite file."""
    return os.environ.get("FLASK_TEST_DATABASE_URI") or f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture
def app_config(tmp_path) -> dict:
    """The configuration of the test app; a test may override keys before `app` is built."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri(tmp_path),
        "WTF_CSRF_ENABLED": False,
        "PIXELPLUS_DISPATCH": "worker",
        # Tests run their Graph endpoints on loopback ports; production sends to public https hosts only.
        "DELIVERY_ALLOWED_HOSTS": ["127.0.0.1", "localhost", "[::1]"],
        "SERVER_NAME": None,
    }


def stop_background_threads(application) -> None:
    """Stop an app's background threads (delivery, postbacks, bulk jobs): they would go on polling a removed
    database, and their logs would land in later tests' captures."""
    for extension in list(application.extensions.values()):
        if isinstance(extension, BackgroundThread):
            extension.stop(timeout=5)


@pytest.fixture(autouse=True)
def _stop_threads_the_test_started():
    """Stop every background thread a test started, whatever app it belongs to (a browser test's site, an app a
    test builds itself): one left running retries its events against a port a later test's server may reuse."""
    before = set(started_threads())
    yield
    for thread in started_threads():
        if thread not in before:
            thread.stop(timeout=5)


@pytest.fixture
def app(app_config):
    """The app on an empty database holding only the default order states."""
    application = create_app(app_config)
    with application.app_context():
        if os.environ.get("FLASK_TEST_DATABASE_URI"):
            db.drop_all()
            db.create_all()
        install_default_states()
        db.session.commit()
    yield application
    stop_background_threads(application)
    with application.app_context():
        db.session.remove()
        if os.environ.get("FLASK_TEST_DATABASE_URI"):
            db.drop_all()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replace pytest-flask's context kept open for the whole test: as in production, each request
    gets its own app context, so no signed-in user or database session carries over between requests."""


@pytest.fixture
def client(app):
    """A test client that, unlike pytest-flask's, keeps no request context alive after a request."""
    return app.test_client()


@pytest.fixture
def app_ctx(app):
    """An application context for tests that use the models directly."""
    with app.app_context():
        yield


class Staff:
    """One employee per role, with their API keys."""

    _password_hash: str | None = None  # hashing is deliberately slow: do it once per session

    def __init__(self, app):
        from shop.models import Employee

        if Staff._password_hash is None:
            Staff._password_hash = generate_password_hash(PASSWORD)
        self.keys: dict[str, str] = {}
        self.ids: dict[str, int] = {}
        with app.app_context():
            for role in ROLES:
                employee = Employee(email=self.email(role), role=role, password_hash=Staff._password_hash)
                self.keys[role] = employee.new_api_key()
                db.session.add(employee)
                db.session.flush()
                self.ids[role] = employee.id
            db.session.commit()

    def email(self, role: str) -> str:
        return f"{role}@shop.test"

    def headers(self, role: str) -> dict:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture
def staff(app) -> Staff:
    """Employees of every role: `<role>@shop.test`, password PASSWORD."""
    return Staff(app)


class AuthActions:
    """Sign the test client in and out as an employee of a role."""

    def __init__(self, client, staff: Staff):
        self._client = client
        self._staff = staff

    def login(self, role: str = "superadmin"):
        return self._client.post("/admin/login", data={"email": self._staff.email(role), "password": PASSWORD})

    def logout(self):
        return self._client.post("/admin/logout")


@pytest.fixture
def auth(client, staff) -> AuthActions:
    """Sign-in helper: ``auth.login("admin")``."""
    return AuthActions(client, staff)


class Api:
    """JSON API calls with a role's key: ``api.get(path, role)``, ``api.post(path, body, role)``."""

    def __init__(self, client, staff: Staff):
        self.client = client
        self.staff = staff

    def get(self, path: str, role: str = "superadmin"):
        return self.client.get(path, headers=self.staff.headers(role))

    def post(self, path: str, body=None, role: str = "superadmin"):
        return self.client.post(path, json=body, headers=self.staff.headers(role))

    def put(self, path: str, body=None, role: str = "superadmin"):
        return self.client.put(path, json=body, headers=self.staff.headers(role))

    def delete(self, path: str, role: str = "superadmin"):
        return self.client.delete(path, headers=self.staff.headers(role))


@pytest.fixture
def api(client, staff) -> Api:
    """JSON API helper bound to the test client."""
    return Api(client, staff)


@pytest.fixture
def shop_data(app):
    """A small catalog and two customers (France and the US)."""
    with app.app_context():
        products = [
            Product(reference="TSHIRT-01", name="T-shirt", price_tax_excl=Decimal("19.90"), tax_rate=Decimal("20")),
            Product(reference="MUG-01", name="Mug", price_tax_excl=Decimal("9.50"), tax_rate=Decimal("20")),
            Product(reference="POSTER-01", name="Poster", price_tax_excl=Decimal("12.00"), tax_rate=Decimal("5.5")),
        ]
        customers = [
            Customer(
                email="Jeanne.Martin@Example.fr",
                firstname="Jeanne",
                lastname="Martin",
                phone="06 12 34 56 78",
                city="Saint-Étienne",
                state="",
                postcode="42000",
                country="FR",
            ),
            Customer(
                email="John_Smith@gmail.com",
                firstname="John",
                lastname="Smith",
                phone="(650) 555-1212",
                city="Menlo Park",
                state="CA",
                postcode="94025-1234",
                country="US",
            ),
        ]
        db.session.add_all(products + customers)
        db.session.commit()
        return {"product_ids": [p.id for p in products], "customer_ids": [c.id for c in customers]}


@pytest.fixture
def make_order(app, shop_data) -> Callable:
    """Place an order: ``make_order(state_key="PS_OS_PAYMENT", quantities=(2, 1, 0), browser=True)`` → id."""

    def make(
        state_key: str = "PS_OS_PAYMENT",
        quantities=(2, 1, 0),
        customer_index: int = 0,
        browser: bool = True,
        currency: str = "EUR",
    ) -> int:
        with app.app_context():
            products = [db.session.get(Product, pid) for pid in shop_data["product_ids"]]
            customer = db.session.get(Customer, shop_data["customer_ids"][customer_index])
            lines = [CartLine(p, q) for p, q in zip(products, quantities, strict=False) if q]
            data = (
                {
                    "client_ip_address": "203.0.113.7",
                    "client_user_agent": "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0",
                    "fbp": "fb.1.1700000000000.1234567890",
                    "fbc": "fb.1.1700000000000.IwAR-test",
                    "event_source_url": "https://shop.test/checkout",
                }
                if browser
                else None
            )
            state = db.session.scalar(select(OrderState).filter_by(key=state_key))
            order = place_order(customer, lines, state, currency=currency, browser=data)
            db.session.commit()
            return order.id

    return make


def wait_for(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.02, message: str = ""):
    """Wait until condition() is truthy and return its value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(interval)


class LiveServer:
    """The app served over real HTTP on a loopback port, in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def graph():
    """A scriptable Graph API events endpoint served on a loopback port: ``graph.url``, ``graph.requests``."""
    from tests.delivery_support import FakeGraph, QuickLiveServer

    fake = FakeGraph()
    with QuickLiveServer(fake.app) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def live(app) -> Iterator[LiveServer]:
    """Serve the test app on a loopback port: ``live.url``."""
    with LiveServer(app) as server:
        yield server
