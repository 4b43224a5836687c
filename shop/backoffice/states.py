"""Back-office order states: the list, and custom states a superadmin creates and edits."""

from flask import render_template

from core.access import requires
from shop.backoffice import bp


@bp.get("/order-states")
@requires("read")
def order_states():
    """List the order states."""
    return render_template("backoffice/layout.html")
