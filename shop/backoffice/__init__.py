"""The back office (/admin): every page needs a signed-in employee with the page's permission."""

from flask import Blueprint

from core.access import protect_browser_blueprint

bp = Blueprint("backoffice", __name__, url_prefix="/admin")
protect_browser_blueprint(bp)

from shop.backoffice import bulk_jobs, employees, filters, modules, orders, states  # noqa: E402,F401  (routes on bp)
