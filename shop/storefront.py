"""The storefront (/): catalog, cart, checkout that captures the browser data."""

from flask import Blueprint, render_template

bp = Blueprint("storefront", __name__)


@bp.get("/")
def catalog():
    """Show the catalog."""
    return render_template("shop/catalog.html")
