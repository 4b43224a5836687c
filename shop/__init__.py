"""The host shop: catalog, customers, orders and their states, back office, storefront, JSON API."""

from flask import Flask

from core.access import set_api_key_loader


def init_app(app: Flask) -> None:
    """Register the shop's blueprints, loaders, template helpers and commands."""
    from extensions import login_manager
    from shop import api, auth, backoffice, bulk_jobs, cli, storefront
    from shop.modules import SETTINGS, MenuEntry, admin_banners, host_menu, installed_modules, navbar

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to reach the back office."
    login_manager.login_message_category = "warning"
    set_api_key_loader(app, auth.employee_for_api_key)

    app.register_blueprint(auth.bp)
    app.register_blueprint(backoffice.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(storefront.bp)
    cli.init_app(app)
    bulk_jobs.init_app(app)  # large bulk status changes run in the background

    shop_menu = (MenuEntry("Modules", "backoffice.modules"),)
    shop_settings = (
        MenuEntry("Order states", "backoffice.order_states", group=SETTINGS),
        MenuEntry("Employees", "backoffice.employees", "staff", SETTINGS),
    )

    @app.context_processor
    def _backoffice_menu():
        modules = installed_modules(app)
        module_menu = [entry for module in modules for entry in module.menu]
        menu = host_menu(app) + module_menu + list(shop_menu) + list(shop_settings)
        return {
            "installed_modules": modules,
            "backoffice_menu": menu,
            "backoffice_navbar": navbar(menu),
            "module_banners": lambda: admin_banners(app),
        }
