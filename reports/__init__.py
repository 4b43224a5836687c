"""Reports: net revenue and refund rate, reconciliation with each destination, serial refunders.

The package reads the shop's and the delivery service's tables, through summary rows of its own that
database triggers keep up to date (reports.summary); its one action ("send what is missing") goes
through the delivery service. Read ``init_app`` as its table of contents.
"""

from flask import Flask

from extensions import db


def init_app(app: Flask) -> None:
    """Register the summary tables and triggers, the pages, the JSON API, the menu entry, the command, the demo."""
    from reports import api, cli, demo, models, triggers, views  # noqa: F401  (models: the tables)
    from shop.modules import MenuEntry, register_menu

    triggers.install_on_create(db.metadata)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.reports_cli)
    demo.connect()
    register_menu(app, MenuEntry("Reports", "reports.revenue", "reports"))
