"""GA4 refunds: a Measurement Protocol `refund` event when an order reaches a refund state.

Read ``init_app`` as the module's table of contents: receivers, pages and API, destination, menu.
"""

from flask import Flask

VERSION = "1.0.0"
DESCRIPTION = (
    "Sends a GA4 refund event (Measurement Protocol, positive value, the purchase's transaction_id) when an "
    "order reaches a refund state, so GA4's revenue reports subtract it."
)


def init_app(app: Flask) -> None:
    """Install the module: receivers, settings page and API, delivery destination, menu entry."""
    from ga4 import receivers, sender, views
    from modulekit.outcomes import outcomes_reader
    from shop.modules import InstalledModule, MenuEntry, register_module

    # The demo's embedded sandbox, on the same server as the Meta one.
    origin = app.config["PIXELPLUS_DEMO_GRAPH_URL"].removesuffix("/sandbox/graph")
    app.config.setdefault("GA4_DEMO_BASE_URL", origin + "/sandbox/ga4")
    receivers.connect()
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api)
    sender.register(app)
    register_module(
        app,
        InstalledModule(
            name="ga4",
            display_name="GA4 refunds",
            version=VERSION,
            description=DESCRIPTION,
            configure_endpoint="ga4_settings.settings",
            status_change_outcomes=outcomes_reader("ga4", "GA4 refunds"),
            menu=(MenuEntry("GA4", "ga4_settings.settings", "settings.view"),),
        ),
    )
