"""Back-office Modules page: the installed modules, each with its Configure link."""

from flask import render_template

from core.access import requires
from shop.backoffice import bp


@bp.get("/modules")
@requires("read")
def modules():
    """List the installed modules."""
    return render_template("backoffice/layout.html")
