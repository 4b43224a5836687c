"""Signed refund webhooks: a Standard Webhooks `transaction.refunded` event to each endpoint a merchant registers.

Read ``init_app`` as the module's table of contents: receivers, pages and API, destination, menu.
"""

from flask import Flask

VERSION = "1.0.0"
DESCRIPTION = (
    "Sends a signed transaction.refunded event (Standard Webhooks: webhook-id, webhook-timestamp, "
    "webhook-signature) to each registered endpoint when an order is refunded, fully or by credit slip."
)
DEMO_RECEIVER = "demo"


def init_app(app: Flask) -> None:
    """Install the module: receivers, settings page and API, delivery destination, menu entry."""
    from extensions import csrf
    from modulekit.install import demo_origin
    from modulekit.outcomes import outcomes_reader
    from shop.modules import InstalledModule, MenuEntry, register_module
    from webhooks import api, models, receivers, sender, trigger_views, views  # noqa: F401  (models: tables)

    # The demo's embedded sandbox receiver, on the same server as the Meta one.
    origin = demo_origin(app)
    app.config.setdefault("WEBHOOKS_DEMO_RECEIVER", DEMO_RECEIVER)
    app.config.setdefault("WEBHOOKS_DEMO_URL", f"{origin}/sandbox/webhooks/{app.config['WEBHOOKS_DEMO_RECEIVER']}")
    receivers.connect()
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(trigger_views.bp)
    app.register_blueprint(trigger_views.api)
    csrf.exempt(api.bp)  # by API key only, never a session cookie
    sender.register(app)
    register_module(
        app,
        InstalledModule(
            name="webhooks",
            display_name="Webhooks",
            version=VERSION,
            description=DESCRIPTION,
            configure_endpoint="webhooks_settings.endpoints_page",
            status_change_outcomes=outcomes_reader("webhook", "Webhooks"),
            menu=(MenuEntry("Webhooks", "webhooks_settings.endpoints_page", "settings.view"),),
        ),
    )
