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
    """Install the module: receivers, settings page and API, delivery destination, menu entry, order panel."""
    from ga4 import receivers, sender, views
    from modulekit.install import demo_origin, install_refund_module

    app.config.setdefault("GA4_DEMO_BASE_URL", demo_origin(app) + "/sandbox/ga4")
    install_refund_module(
        app,
        name="ga4",
        display_name="GA4 refunds",
        version=VERSION,
        description=DESCRIPTION,
        destination="ga4",
        service="GA4",
        menu_label="GA4",
        receivers=receivers,
        views=views,
        sender=sender,
    )
