"""Pixel Plus: sends a custom Refund event to Meta's Conversions API when an order is refunded.

Read ``init_app`` as the module's table of contents: tables, receivers, pages and API, the destination
it registers with the delivery service (which sends, retries and logs), registration.
"""

from flask import Flask

VERSION = "1.0.0"
DESCRIPTION = (
    "Sends a custom Refund event (positive value) to Meta's Conversions API when an order reaches a refund "
    "state: for refund visibility, exclusion audiences and custom conversions, not to correct ROAS."
)


def init_app(app: Flask) -> None:
    """Install the module: settings, receivers, blueprints, its destination, commands."""
    from pixelplus import models  # noqa: F401, I001  (tables must be known before create_all)
    from pixelplus import outcomes, panel, receivers, settings_views
    from shop.modules import SETTINGS, InstalledModule, MenuEntry, register_module

    # Receivers: every status change and credit slip gets a decision; the demo enables the module.
    receivers.connect()

    # Settings page (/admin/pixelplus/settings) and its JSON API (/api/pixelplus/settings).
    app.register_blueprint(settings_views.bp)
    app.register_blueprint(settings_views.api)

    # Delivery is the shared service's: Meta's Conversions API is a destination of it. The module's
    # earlier addresses stay: /api/pixelplus/events and decisions (Meta's only), the old log URLs
    # (redirects), and ``flask pixelplus dispatch|worker|purge`` (the service's commands).
    from delivery.api import make_blueprint
    from delivery.cli import command_group
    from pixelplus import log_views, meta

    meta.register(app)
    app.register_blueprint(make_blueprint("pixelplus_events_api", "/api/pixelplus", meta.META_CAPI))
    app.register_blueprint(log_views.bp)
    app.cli.add_command(command_group("pixelplus", "Deliver queued events (every destination), purge old ones."))

    # Back-office menu: settings, then the sandbox.
    menu = [MenuEntry("Pixel Plus", "pixelplus_settings.settings", "settings.view", SETTINGS)]
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
