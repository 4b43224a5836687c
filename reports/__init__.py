"""Reports: net revenue and refund rate, reconciliation with each destination, serial refunders.

The package only reads the shop's and the delivery service's tables; its one action ("send what is
missing") goes through the delivery service. Read ``init_app`` as its table of contents.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the reports pages, their JSON API and the back-office menu entry."""
    from reports import api, views
    from shop.modules import MenuEntry, register_menu

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    register_menu(app, MenuEntry("Reports", "reports.revenue", "reports"))
