"""Back-office orders: list with filters, order page, status changes, partial refunds."""

from flask import render_template

from core.access import requires
from shop.backoffice import bp


@bp.get("/orders")
@requires("read")
def orders():
    """List orders."""
    return render_template("backoffice/orders.html")
