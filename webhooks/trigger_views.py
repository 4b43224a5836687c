"""The webhook trigger settings page (/admin/webhooks/settings) and API (/api/webhooks/settings), built by modulekit."""

from modulekit.views import SettingsPage, make_blueprints
from webhooks.settings import FIELDS

PAGE = SettingsPage(
    name="webhooks",
    blueprint="webhooks_triggers",  # webhooks_settings is the endpoints page
    title="Webhook triggers",
    intro=(
        "Which status changes send transaction.refunded to every enabled endpoint, and whether each reports "
        "what is left of the order (full) or the credit slips not yet reported (partial). A credit slip "
        "always sends its own event. Endpoints are switched on and off on the Webhooks page."
    ),
    fields=FIELDS,
    required_when_enabled={},
)
bp, api = make_blueprints(PAGE)
