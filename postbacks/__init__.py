"""Refund postbacks in: affiliate networks' refund/chargeback postbacks and Stripe's refund and dispute events
become the credit slips and state changes the back office would make, processed in the background.

Read ``init_app`` as the module's table of contents. The package may import shop; shop never imports it.
"""

from flask import Flask

VERSION = "1.0.0"
DESCRIPTION = (
    "Receives refund and chargeback postbacks from affiliate networks (by click id) and Stripe's charge.refunded "
    "and charge.dispute.created events, and records them as the back office would, so every module reacts."
)


def init_app(app: Flask) -> None:
    """Install the module: tables, background processing, endpoints and pages, commands, demo setup."""
    from postbacks import models  # noqa: F401, I001  (tables must be known before create_all)
    from postbacks import api, cli, demo, logscrub, panel, runner, views
    from shop.modules import SETTINGS, InstalledModule, MenuEntry, register_module

    # Received postbacks are queued rows, processed after the request's commit (PIXELPLUS_DISPATCH's modes).
    runner.init_app(app)
    cli.init_app(app)
    demo.connect()

    # The receiving endpoints and the JSON API (/api/...), the back-office pages (/admin/postbacks);
    # the token in a postback URL is masked in the access logs.
    logscrub.install()
    app.register_blueprint(api.api)
    app.register_blueprint(views.bp)

    register_module(
        app,
        InstalledModule(
            name="postbacks",
            display_name="Refund postbacks",
            version=VERSION,
            description=DESCRIPTION,
            configure_endpoint="postbacks.settings_page",
            # In the Settings dropdown, so the navbar stays on one line.
            menu=(
                MenuEntry("Refund postbacks", "postbacks.settings_page", "settings.view", SETTINGS),
                MenuEntry("Received postbacks", "postbacks.postbacks", "settings.view", SETTINGS),
            ),
            admin_order_panel=panel.render,
        ),
    )
