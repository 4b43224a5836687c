"""The GA4 settings page and API (built by modulekit) and its "Send test event" button."""

from flask import flash, jsonify, redirect, session, url_for

from core.access import requires
from ga4.settings import FIELDS, REQUIRED_WHEN_ENABLED, load_settings
from ga4.test_event import CannotSendTestEvent, send_test_event
from modulekit.views import SettingsPage, make_blueprints

TEST_RESULT_KEY = "ga4_test_event"

PAGE = SettingsPage(
    name="ga4",
    title="GA4 refunds",
    intro=(
        "When an order reaches one of the chosen states, a GA4 refund event (positive value, the purchase's "
        "transaction_id) goes to the Measurement Protocol, server-side. A full refund carries no items; a "
        "partial one carries only the refunded lines. GA4 then subtracts it from the purchase's revenue."
    ),
    fields=FIELDS,
    required_when_enabled=REQUIRED_WHEN_ENABLED,
    extra_template="ga4/test_event.html",
    extra_context=lambda values: {"test_result": session.pop(TEST_RESULT_KEY, None)},
)
bp, api = make_blueprints(PAGE)


@bp.post("/settings/test-event")
@requires("settings")
def test_event():
    """Validate a sample refund event at GA4's validation server and show its messages."""
    try:
        result = send_test_event(load_settings())
    except CannotSendTestEvent as refused:
        flash(str(refused), "warning")
        return redirect(url_for(".settings"))
    session[TEST_RESULT_KEY] = result.as_dict()
    return redirect(url_for(".settings") + "#test-event")


@api.post("/test-event")
@requires("settings")
def api_test_event():
    """Validate a sample refund event; answer the validation server's messages."""
    try:
        result = send_test_event(load_settings())
    except CannotSendTestEvent as refused:
        return jsonify({"error": {"code": "not_configured", "message": str(refused)}}), 409
    return jsonify(result.as_dict())
