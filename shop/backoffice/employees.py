"""Back-office employees: list, create, roles, API keys (superadmin only)."""

from flask import render_template

from core.access import requires
from shop.backoffice import bp


@bp.get("/employees")
@requires("staff")
def employees():
    """List the employees."""
    return render_template("backoffice/layout.html")
