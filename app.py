"""The application factory: configuration, extensions, then shop, delivery, pixelplus, postbacks and sandbox."""

import json
import os
import secrets
from pathlib import Path

from flask import Flask, request

import core.busy
import core.headers
import core.requestguards
from core.apierrors import error_response
from core.inputs import IdConverter, StrictJSONProvider
from extensions import bootstrap, csrf, db, limiter, login_manager, migrate

# Alembic's scripts (Flask-Migrate); batch mode so SQLite can alter tables too.
MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")

# The demo pixel the embedded sandbox accepts and `shop init-demo` puts into the module's settings.
DEMO_PIXEL_ID = "1234567890123456"
DEMO_ACCESS_TOKEN = "EAABsandboxDemoToken0000000000000000000000000000000000Demo9x2Q"  # noqa: S105  (the sandbox's demo token, not a secret)
# The OAuth refresh token the embedded Google Ads sandbox accepts as a bearer; the demo puts it into the module.
DEMO_GOOGLEADS_TOKEN = "1//sandboxDemoRefreshToken0000000000000000000000Ads"  # noqa: S105  (not a secret)


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the shop."""
    app = Flask(__name__, instance_relative_config=True)
    app.json = StrictJSONProvider(app)  # every get_json refuses NaN and absurd nesting with a 400
    app.url_map.converters["int"] = IdConverter  # /admin/orders/10**30 is a 404, not an overflow
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(app.instance_path, "shop.sqlite"),
        SQLALCHEMY_ENGINE_OPTIONS={},
        PIXELPLUS_DISPATCH="thread",
        DELIVERY_ALLOWED_HOSTS=[],
        PIXELPLUS_DEMO_GRAPH_URL="http://127.0.0.1:5000/sandbox/graph",
        SANDBOX_ENABLED=True,
        SANDBOX_PIXELS={DEMO_PIXEL_ID: DEMO_ACCESS_TOKEN},
        SANDBOX_GOOGLEADS_TOKENS=[DEMO_GOOGLEADS_TOKEN],
        DEMO_GOOGLEADS_TOKEN=DEMO_GOOGLEADS_TOKEN,
        DEMO_PIXEL_ID=DEMO_PIXEL_ID,
        DEMO_ACCESS_TOKEN=DEMO_ACCESS_TOKEN,
        BOOTSTRAP_SERVE_LOCAL=True,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Set FLASK_SESSION_COOKIE_SECURE=true when the shop is served over https (README, Configuration).
        SESSION_COOKIE_SECURE=False,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        SQLITE_WEB_BUSY_TIMEOUT_MS=5000,
        SQLITE_BUSY_TIMEOUT_MS=30000,
        RATELIMIT_STORAGE_URI="memory://",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    _normalise_config(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    bootstrap.init_app(app)
    _sqlite_pragmas(app)
    core.busy.init_app(app, db)
    core.headers.init_app(app)
    core.requestguards.init_app(app, csrf)

    import delivery
    import ga4
    import googleads
    import pixelplus
    import postbacks
    import reports
    import shop
    import webhooks

    shop.init_app(app)
    delivery.init_app(app)
    reports.init_app(app)
    pixelplus.init_app(app)
    postbacks.init_app(app)
    ga4.init_app(app)
    googleads.init_app(app)
    webhooks.init_app(app)
    if app.config["SANDBOX_ENABLED"]:
        import sandbox

        sandbox.init_app(app)
        # The demo sends to the embedded sandbox, on this very server (plain http, loopback).
        for key in ("PIXELPLUS_DEMO_GRAPH_URL", "GA4_DEMO_BASE_URL", "GOOGLEADS_DEMO_BASE_URL", "WEBHOOKS_DEMO_URL"):
            delivery.allow_host(app, app.config[key])

    _json_errors_under_api(app)
    _page_helpers(app)
    if test_config is not None:
        # Tests build their throwaway schema from the models; a real install runs the migrations
        # (`flask db upgrade`, also run by `shop init-demo`), and tests/test_migrations.py proves both agree.
        with app.app_context():
            db.create_all()
    return app


def _normalise_config(app: Flask) -> None:
    """Turn environment strings into the types the code expects."""
    enabled = app.config["SANDBOX_ENABLED"]
    if isinstance(enabled, str):
        app.config["SANDBOX_ENABLED"] = enabled.strip().lower() not in {"0", "false", "no", "off", ""}
    pixels = app.config["SANDBOX_PIXELS"]
    if isinstance(pixels, str):
        app.config["SANDBOX_PIXELS"] = json.loads(pixels)


def _instance_secret(app: Flask) -> str:
    """Read the session-signing key from the instance folder, creating it on first start."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _sqlite_pragmas(app: Flask) -> None:
    """Run SQLite readers beside the writer (web, thread and worker share it); core.busy sets the lock wait."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "savepoint")
    def _begin_before_savepoint(connection, _name):
        # Python's sqlite3 opens a transaction only before a write. A SAVEPOINT issued before any
        # write would itself become the outermost transaction, and releasing it would COMMIT:
        # a bulk change could not be rolled back as a whole. Open the real transaction first.
        dbapi_connection = connection.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN")


def _page_helpers(app: Flask) -> None:
    """Serve the favicon where browsers ask for it and give every template the human-time filter."""
    from core.humantime import when

    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
    app.add_template_filter(when, "when")


def _json_errors_under_api(app: Flask) -> None:
    """Answer unknown URLs and wrong methods under /api in the JSON error shape, not HTML."""

    def handler(error):
        if request.path.startswith(("/api/", "/sandbox/api/")):
            return error_response(error.code, error.name.lower().replace(" ", "_"), error.description)
        return error

    app.register_error_handler(404, handler)
    app.register_error_handler(405, handler)
