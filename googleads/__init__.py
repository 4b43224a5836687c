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
    """Install the module: receivers, settings page and API, delivery destination, menu entry, order panel."""
    from googleads import receivers, sender, views
    from modulekit.install import demo_origin, install_refund_module

    app.config.setdefault("GOOGLEADS_DEMO_BASE_URL", demo_origin(app) + "/sandbox/googleads")
    app.config.setdefault("DEMO_GOOGLEADS_CUSTOMER_ID", DEMO_CUSTOMER_ID)
    app.config.setdefault("DEMO_GOOGLEADS_CONVERSION_ACTION_ID", DEMO_CONVERSION_ACTION_ID)
    install_refund_module(
        app,
        name="googleads",
        display_name="Google Ads adjustments",
        version=VERSION,
        description=DESCRIPTION,
        destination="google_ads",
        service="Google Ads",
        menu_label="Google Ads",
        receivers=receivers,
        views=views,
        sender=sender,
    )
