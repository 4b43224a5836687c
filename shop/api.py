"""The shop's JSON API (/api): order states, products, orders, status changes, credit slips."""

from flask import Blueprint

from core.access import protect_api_blueprint
from core.apierrors import register_json_errors
from extensions import csrf

bp = Blueprint("shop_api", __name__, url_prefix="/api")
csrf.exempt(bp)  # API calls authenticate with a key, never the session cookie
protect_api_blueprint(bp)
register_json_errors(bp)
