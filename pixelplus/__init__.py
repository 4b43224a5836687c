"""Pixel Plus: sends a custom Refund event to Meta's Conversions API when an order is refunded.

Read ``init_app`` as the module's table of contents: tables, receivers, pages and API, registration.
"""

from flask import Flask

VERSION = "1.0.0"
DESCRIPTION = (
    "Sends a custom Refund event (positive value) to Meta's Conversions API when an order reaches a refund "
    "state: for refund visibility, exclusion audiences and custom conversions, not to correct ROAS."
)


def init_app(app: Flask) -> None:
    """Install the module: settings, receivers, blueprint, commands."""
    from pixelplus import models  # noqa: F401, I001  (tables must be known before create_all)
    from pixelplus import outcomes, panel, receivers, settings_views
    from shop.modules import SETTINGS, InstalledModule, MenuEntry, register_module

    # Receivers: every status change and credit slip gets a decision; the demo enables the module.
    receivers.connect()

    # Settings page (/admin/pixelplus/settings) and its JSON API (/api/pixelplus/settings).
    app.register_blueprint(settings_views.bp)
    app.register_blueprint(settings_views.api)

    # Delivery: dispatch mode and wake-up on commit, commands, the sent-events log and its JSON API.
    from pixelplus import cli, events_api, log_views, worker

    worker.init_app(app)
    cli.init_app(app)
    app.register_blueprint(log_views.bp)
    app.register_blueprint(events_api.bp)

    # Back-office menu: settings, then the delivery pages, then the sandbox.
    menu = [MenuEntry("Pixel Plus", "pixelplus_settings.settings", "settings.view", SETTINGS)]
    menu += [MenuEntry("Sent events", "pixelplus_events.events"), MenuEntry("Decisions", "pixelplus_events.decisions")]
    if app.config.get("SANDBOX_ENABLED"):
        menu.append(MenuEntry("Sandbox", "pixelplus_settings.sandbox", "sandbox"))
    register_module(
        app,
        InstalledModule(
            name="pixelplus",
            display_name="Pixel Plus",
            version=VERSION,
            description=DESCRIPTION,
            configure_endpoint="pixelplus_settings.settings",
            menu=tuple(menu),
            admin_order_panel=panel.render,
            admin_banner=outcomes.test_mode_banner,
            status_change_outcomes=outcomes.status_change_outcomes,
        ),
    )
