"""Google Ads adjustments: retract or restate an order's conversion when the order is refunded.

Read ``init_app`` as the module's table of contents: receivers, pages and API, destination, menu.
"""

from flask import Flask

VERSION = "1.0.0"
DESCRIPTION = (
    "Retracts (full refund) or restates to the new total (partial refund) the order's Google Ads conversion, "
    "by order id, through uploadConversionAdjustments; also exports Google's offline-adjustment CSV."
)
DEMO_CUSTOMER_ID = "1234567890"
DEMO_CONVERSION_ACTION_ID = "555000111"


def init_app(app: Flask) -> None:
    """Install the module: receivers, settings page and API, delivery destination, menu entry."""
    from googleads import receivers, sender, views
    from modulekit.outcomes import outcomes_reader
    from shop.modules import InstalledModule, MenuEntry, register_module

    # The demo's embedded sandbox, on the same server as the Meta one.
    origin = app.config["PIXELPLUS_DEMO_GRAPH_URL"].removesuffix("/sandbox/graph")
    app.config.setdefault("GOOGLEADS_DEMO_BASE_URL", origin + "/sandbox/googleads")
    app.config.setdefault("DEMO_GOOGLEADS_CUSTOMER_ID", DEMO_CUSTOMER_ID)
    app.config.setdefault("DEMO_GOOGLEADS_CONVERSION_ACTION_ID", DEMO_CONVERSION_ACTION_ID)
    receivers.connect()
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api)
    sender.register(app)
    register_module(
        app,
        InstalledModule(
            name="googleads",
            display_name="Google Ads adjustments",
            version=VERSION,
            description=DESCRIPTION,
            configure_endpoint="googleads_settings.settings",
            status_change_outcomes=outcomes_reader("google_ads", "Google Ads adjustments"),
            menu=(MenuEntry("Google Ads", "googleads_settings.settings", "settings.view"),),
        ),
    )
