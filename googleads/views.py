"""The Google Ads settings page and API (built by modulekit) and the offline-adjustment CSV export."""

from flask import Response

from core.access import requires
from googleads.export import adjustments_csv
from googleads.receivers import DESTINATION
from googleads.settings import FIELDS, REQUIRED_WHEN_ENABLED, load_settings
from modulekit.views import SettingsPage, make_blueprints

PAGE = SettingsPage(
    name="googleads",
    title="Google Ads adjustments",
    intro=(
        "When an order reaches one of the chosen states, its Google Ads conversion is adjusted by order id: a "
        "full refund retracts it, a partial one restates it to the order's new total. Google accepts "
        "adjustments up to 54 days after the purchase and nothing after a retraction."
    ),
    fields=FIELDS,
    required_when_enabled=REQUIRED_WHEN_ENABLED,
    extra_template="googleads/export.html",
)
bp, api = make_blueprints(PAGE)


def _csv_response() -> Response:
    response = Response(adjustments_csv(load_settings(), DESTINATION), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="google-ads-adjustments.csv"'
    return response


@api.get("/adjustments.csv")
@requires("settings.view")
def adjustments():
    """Every recorded adjustment in Google's offline-adjustment template."""
    return _csv_response()


@bp.get("/adjustments.csv")
@requires("settings.view")
def adjustments_page():
    """The same CSV, for the settings page's download link."""
    return _csv_response()
