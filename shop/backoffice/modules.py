"""Back-office Modules page: the installed modules, each with its Configure link."""

from flask import current_app, render_template
from flask_login import current_user

from core.access import PUBLIC, permission_of, requires
from shop.backoffice import bp
from shop.modules import InstalledModule, installed_modules


@bp.get("/modules")
@requires("read")
def modules():
    """List the installed modules."""
    rows = [(module, _can_configure(module)) for module in installed_modules(current_app)]
    return render_template("backoffice/modules.html", rows=rows)


def _can_configure(module: InstalledModule) -> bool:
    """Whether the module has a configure page this employee may open."""
    endpoint = module.configure_endpoint
    if not endpoint or endpoint not in current_app.view_functions:
        return False
    permission = permission_of(endpoint)
    return permission == PUBLIC or (permission is not None and current_user.can(permission))
