"""The delivery service: every module's events go out through it.

It owns the outbox and its attempts, every module's decisions, the dispatcher (batches, retries until a
destination's window closes, a circuit breaker per destination), the dispatch modes, the HTTP client (no
redirects, host rules), purge, and the sent-events log with its JSON API. A module registers a
``delivery.registry.Destination`` at ``init_app`` and records outbox rows; the service does the rest.
Read ``init_app`` as the service's table of contents.
"""

from flask import Flask

from delivery.hosts import host_port, parse_allowed
from delivery.registry import Destination, destinations, register_destination

__all__ = ["Destination", "allow_host", "destinations", "init_app", "register_destination"]

VERSION = "1.0.0"
DESCRIPTION = (
    "Delivers every module's events: batches, retries until each destination's delivery window closes, "
    "a circuit breaker per destination, no redirects, public hosts only; the sent-events log and its API."
)


def init_app(app: Flask) -> None:
    """Install the service: tables, configuration, dispatch mode, commands, log pages and API."""
    from delivery import models, monitoring  # noqa: F401, I001  (tables must be known before create_all)
    from delivery import api, cli, health_views, log_views, reported, worker
    from shop.modules import InstalledModule, MenuEntry, register_module
    from shop.signals import order_batch_loaded

    app.config["DELIVERY_ALLOWED_HOSTS"] = list(parse_allowed(app.config.get("DELIVERY_ALLOWED_HOSTS")))
    worker.init_app(app)
    order_batch_loaded.connect(reported.on_order_batch_loaded)
    cli.init_app(app)
    app.register_blueprint(log_views.bp)
    app.register_blueprint(health_views.bp)  # /healthz and /metrics
    app.register_blueprint(api.make_blueprint("delivery_api", "/api"))
    register_module(
        app,
        InstalledModule(
            name="delivery",
            display_name="Delivery",
            version=VERSION,
            description=DESCRIPTION,
            menu=(MenuEntry("Sent events", "delivery_log.events"), MenuEntry("Decisions", "delivery_log.decisions")),
        ),
    )


def allow_host(app: Flask, url: str) -> None:
    """Let the service send to url's host:port (the embedded sandbox does this in the demo)."""
    allowed = app.config.setdefault("DELIVERY_ALLOWED_HOSTS", [])
    entry = host_port(url)
    if entry not in allowed:
        allowed.append(entry)
