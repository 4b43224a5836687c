"""How GA4 and Google Ads install themselves: receivers, settings page and API, destination, menu, order panel."""

from types import ModuleType

from flask import Flask


def demo_origin(app: Flask) -> str:
    """Return the origin of the demo's embedded sandboxes (the server the Meta one runs on)."""
    return app.config["PIXELPLUS_DEMO_GRAPH_URL"].removesuffix("/sandbox/graph")


def install_refund_module(
    app: Flask,
    *,
    name: str,
    display_name: str,
    version: str,
    description: str,
    destination: str,
    service: str,
    menu_label: str,
    receivers: ModuleType,
    views: ModuleType,
    sender: ModuleType,
) -> None:
    """Connect a module's receivers, register its pages (``<name>_settings``), destination and order-page panel.

    destination is the delivery destination's name; service names who acknowledges its money on the panel.
    """
    from delivery.order_panel import order_panel
    from modulekit.outcomes import outcomes_reader
    from shop.modules import InstalledModule, MenuEntry, register_module

    receivers.connect()
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api)
    sender.register(app)
    settings_page = f"{name}_settings.settings"
    register_module(
        app,
        InstalledModule(
            name=name,
            display_name=display_name,
            version=version,
            description=description,
            configure_endpoint=settings_page,
            status_change_outcomes=outcomes_reader(destination, display_name),
            menu=(MenuEntry(menu_label, settings_page, "settings.view"),),
            admin_order_panel=order_panel(destination, service, name),
        ),
    )
