"""The settings: defaults, validation on save (nothing stored when refused), the page, the JSON API, the token."""

import logging

import pytest
from sqlalchemy import func, select

from extensions import db
from pixelplus.models import ModuleSetting
from pixelplus.settings import RefundSettings, SettingsInvalid, load_settings, save_settings
from shop.modules import installed_modules
from tests.pixelplus_support import PIXEL_ID, TOKEN, change, configure, state_id

SETTINGS_URL = "/admin/pixelplus/settings"
API_URL = "/api/pixelplus/settings"
MASKED = TOKEN[:4] + "…" + TOKEN[-4:]


def stored_rows(app) -> dict:
    with app.app_context():
        return {row.name: row.value for row in db.session.scalars(select(ModuleSetting))}


def test_defaults(app):
    with app.app_context():
        settings = load_settings()
    assert settings.enabled is False
    assert settings.paid_only is True
    assert settings.refund_on_credit_slip is False
    assert set(settings.trigger_state_ids) == {state_id(app, "PS_OS_REFUND"), state_id(app, "PS_OS_CANCELED")}
    assert (settings.api_version, settings.graph_url) == ("v26.0", "https://graph.facebook.com")
    assert (settings.value_tax_incl, settings.value_shipping_incl, settings.content_id_source) == (True, True, "id")
    assert settings.masked_token == ""


def test_masked_token():
    assert RefundSettings(access_token=TOKEN).masked_token == MASKED
    assert RefundSettings(access_token="short").masked_token == "…"  # short tokens fully masked
    assert RefundSettings().masked_token == ""


def test_saved_settings_are_read_back(app):
    configure(app, paid_only=False, api_version="v25.0", content_id_source="reference", test_event_code="TEST42")
    with app.app_context():
        settings = load_settings()
    assert (settings.enabled, settings.paid_only, settings.pixel_id, settings.access_token) == (
        True,
        False,
        PIXEL_ID,
        TOKEN,
    )
    assert (settings.api_version, settings.content_id_source, settings.test_event_code) == (
        "v25.0",
        "reference",
        "TEST42",
    )
    assert stored_rows(app)["FCTP_REFUND_ENABLED"] == "1"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"pixel_id": "12ab34"}, "pixel_id", "digits only"),
        ({"pixel_id": "123 456"}, "pixel_id", "digits only"),
        ({"api_version": "26.0"}, "api_version", "vNN.N"),
        ({"api_version": "v26"}, "api_version", "vNN.N"),
        ({"api_version": "v26.0.1"}, "api_version", "vNN.N"),
        ({"graph_url": "http://graph.example.com"}, "graph_url", "Plain http is refused for graph.example.com"),
        ({"graph_url": "ftp://graph.facebook.com"}, "graph_url", "Graph API base URL"),
        ({"graph_url": "graph.facebook.com"}, "graph_url", "Graph API base URL"),
        ({"graph_url": "https://user:pw@graph.facebook.com"}, "graph_url", "user name or password"),
        ({"graph_url": "https://graph.facebook.com/?x=1"}, "graph_url", "Graph API base URL"),
        ({"enabled": True}, "pixel_id", "cannot be enabled without it"),
        ({"enabled": True, "pixel_id": "123"}, "access_token", "cannot be enabled without it"),
        ({"trigger_state_ids": [7, 999]}, "trigger_state_ids", "Unknown order state id: 999"),
        ({"trigger_state_ids": "7"}, "trigger_state_ids", "list of order state ids"),
        ({"trigger_state_ids": [True]}, "trigger_state_ids", "list of order state ids"),
        ({"content_id_source": "sku"}, "content_id_source", "product id or product reference"),
        ({"paid_only": "yes"}, "paid_only", "true or false"),
        ({"test_event_code": "TEST 1"}, "test_event_code", "letters and digits"),
        ({"access_token": "has spaces in it"}, "access_token", "characters a Meta token never has"),
        ({"no_such_setting": 1}, "no_such_setting", "unknown setting"),
    ],
)
def test_invalid_settings_are_refused_and_nothing_is_stored(app, changes, field, message):
    before = stored_rows(app)
    with app.app_context(), pytest.raises(SettingsInvalid) as refused:
        save_settings({"paid_only": False, **changes})
    assert message in refused.value.fields[field]
    assert stored_rows(app) == before


@pytest.mark.parametrize(
    "url",
    ["https://graph.facebook.com", "http://127.0.0.1:5000/sandbox/graph", "http://localhost:8080", "http://[::1]:5000"],
)
def test_graph_url_https_anywhere_or_http_to_loopback(app, url):
    with app.app_context():
        assert save_settings({"graph_url": url + "/"}).graph_url == url


# The settings page.


def test_merchant_sees_the_form_with_the_token_masked(client, auth, app):
    configure(app)
    auth.login("merchant")
    page = client.get(SETTINGS_URL).get_data(as_text=True)
    assert "Pixel Plus · Refund event" in page
    assert MASKED in page and TOKEN not in page
    assert 'name="submit"' in page and "Send test event" in page
    for label in ("Refunded", "Canceled", "Delivered"):
        assert label in page


def test_tester_sees_the_page_read_only(client, auth, app):
    configure(app)
    auth.login("tester")
    page = client.get(SETTINGS_URL).get_data(as_text=True)
    assert "<fieldset disabled>" in page
    assert 'name="submit"' not in page and 'name="send_test"' not in page
    assert TOKEN not in page
    assert client.post(SETTINGS_URL, data={"pixel_id": "1"}).status_code == 403


def test_admin_may_not_see_the_settings(client, auth):
    auth.login("admin")
    assert client.get(SETTINGS_URL).status_code == 403


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def form_data(app, **overrides) -> dict:
    data = {
        "enabled": "y",
        "paid_only": "y",
        "trigger_state_ids": [str(state_id(app, "PS_OS_REFUND")), str(state_id(app, "PS_OS_CANCELED"))],
        "pixel_id": PIXEL_ID,
        "access_token": TOKEN,
        "api_version": "v26.0",
        "graph_url": "https://graph.facebook.com",
        "test_event_code": "",
        "value_tax_incl": "1",
        "value_shipping_incl": "0",
        "content_id_source": "reference",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_saving_the_form(client, auth, app):
    auth.login("merchant")
    response = client.post(SETTINGS_URL, data=form_data(app), follow_redirects=True)
    assert response.status_code == 200
    assert "Pixel Plus settings saved." in response.get_data(as_text=True)
    with app.app_context():
        settings = load_settings()
    assert (settings.enabled, settings.access_token, settings.value_shipping_incl) == (True, TOKEN, False)
    assert settings.content_id_source == "reference"


def test_an_empty_token_field_keeps_the_stored_token(client, auth, app):
    configure(app)
    auth.login("merchant")
    response = client.post(SETTINGS_URL, data=form_data(app, access_token="", pixel_id="999"))
    assert response.status_code == 302
    with app.app_context():
        settings = load_settings()
    assert (settings.pixel_id, settings.access_token) == ("999", TOKEN)


INVALID_FORMS = [
    ({"pixel_id": "abc"}, "The pixel id is made of digits only"),
    ({"api_version": "26"}, "Write the Graph API version as vNN.N"),
    ({"graph_url": "http://evil.example"}, "Plain http is refused for evil.example"),
    ({"trigger_state_ids": ["999"]}, "Unknown order state id: 999."),
    ({"access_token": ""}, "cannot be enabled without it"),  # enabling without a stored token
    ({"pixel_id": ""}, "cannot be enabled without it"),
    ({"content_id_source": "sku"}, "Not a valid choice"),
    ({"test_event_code": "TEST 12"}, "A test event code is letters and digits"),
]


def test_form_shows_each_message_and_stores_nothing(client, auth, app):
    """One sign-in for the whole table: each row is a separate POST."""
    auth.login("merchant")
    before = stored_rows(app)
    for overrides, message in INVALID_FORMS:
        response = client.post(SETTINGS_URL, data=form_data(app, **overrides))
        page = response.get_data(as_text=True)
        assert response.status_code == 422, overrides
        assert message in page, overrides
        assert "invalid-feedback" in page
        assert TOKEN not in page  # the submitted token is never echoed back
        assert stored_rows(app) == before, overrides


# The JSON API.


def test_api_get_masks_the_token(api, app):
    configure(app)
    for role in ("merchant", "tester", "superadmin"):
        response = api.get(API_URL, role=role)
        assert response.status_code == 200
        body = response.get_json()
        assert body["access_token"] == MASKED and body["access_token_set"] is True
        assert TOKEN not in response.get_data(as_text=True)
    assert body["FCTP_REFUND_ENABLED"] is True
    assert set(body["FCTP_REFUND_STATUS"]) == {state_id(app, "PS_OS_REFUND"), state_id(app, "PS_OS_CANCELED")}
    assert api.get(API_URL, role="admin").status_code == 403


def test_api_put_changes_a_subset(api, app):
    configure(app)
    response = api.put(API_URL, {"FCTP_REFUND_PAID_ONLY": False, "value_tax_incl": False}, role="merchant")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["FCTP_REFUND_PAID_ONLY"], body["value_tax_incl"], body["pixel_id"]) == (False, False, PIXEL_ID)
    with app.app_context():
        assert load_settings().access_token == TOKEN


def test_api_put_of_what_get_returned_keeps_the_token(api, app):
    configure(app)
    body = api.get(API_URL, role="merchant").get_json()
    writable = {key: body[key] for key in ("FCTP_REFUND_ENABLED", "FCTP_REFUND_STATUS", "pixel_id", "access_token")}
    assert api.put(API_URL, writable, role="merchant").status_code == 200
    with app.app_context():
        assert load_settings().access_token == TOKEN


INVALID_API_BODIES = [
    ({"FCTP_REFUND_ENABLED": "true"}, "FCTP_REFUND_ENABLED"),
    ({"FCTP_REFUND_PAID_ONLY": 1}, "FCTP_REFUND_PAID_ONLY"),
    ({"FCTP_REFUND_STATUS": [7, "6"]}, "FCTP_REFUND_STATUS"),
    ({"FCTP_REFUND_STATUS": [999]}, "FCTP_REFUND_STATUS"),
    ({"pixel_id": 1234}, "pixel_id"),
    ({"api_version": "latest"}, "api_version"),
    ({"graph_url": "http://10.0.0.1"}, "graph_url"),
    ({"FCTP_REFUND_ENABLED": True}, "pixel_id"),
    ({"value_tax_incl": "no"}, "value_tax_incl"),
    ({"colour": "blue"}, "colour"),
]


def test_api_put_refuses_each_invalid_input_with_422(api, app):
    before = stored_rows(app)
    for body, key in INVALID_API_BODIES:
        response = api.put(API_URL, body, role="merchant")
        assert response.status_code == 422, body
        error = response.get_json()["error"]
        assert error["code"] == "invalid" and key in error["fields"], body
        assert error["fields"][key], body
        assert stored_rows(app) == before, body


def test_api_put_needs_the_settings_permission_and_json(api, client, staff):
    assert api.put(API_URL, {"FCTP_REFUND_PAID_ONLY": False}, role="tester").status_code == 403
    response = client.put(API_URL, data="paid_only=0", headers=staff.headers("merchant"))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed"
    assert client.get(API_URL).status_code == 401


def test_api_null_token_clears_it_when_disabled(api, app):
    configure(app)
    assert api.put(API_URL, {"access_token": None}, role="merchant").status_code == 422  # still enabled
    response = api.put(API_URL, {"FCTP_REFUND_ENABLED": False, "access_token": None}, role="merchant")
    assert response.status_code == 200 and response.get_json()["access_token_set"] is False


# Registration and the token's secrecy end to end.


def test_module_is_registered_with_its_configure_link_and_menu(app, client, auth):
    [module] = [m for m in installed_modules(app) if m.name == "pixelplus"]
    assert (module.display_name, module.version) == ("Pixel Plus", "1.0.0")
    assert module.configure_endpoint == "pixelplus_settings.settings"
    assert module.admin_order_panel is not None
    auth.login("merchant")
    page = client.get(SETTINGS_URL).get_data(as_text=True)
    assert 'href="/admin/pixelplus/settings"' in page  # the back-office menu entry
    assert 'href="/admin/pixelplus/sandbox"' in page


def test_modules_page_lists_pixel_plus_with_a_configure_link(client, auth):
    auth.login("merchant")
    page = client.get("/admin/modules").get_data(as_text=True)
    row = page[page.index('data-module="pixelplus"') :]
    row = row[: row.index("</tr>")]
    assert "Pixel Plus" in row and "1.0.0" in row
    assert 'href="/admin/pixelplus/settings"' in row and "Configure" in row


def test_sandbox_menu_entry_leads_to_the_sandbox(client, auth):
    auth.login("tester")
    response = client.get("/admin/pixelplus/sandbox")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sandbox/")


def test_the_token_never_appears_in_full(app, client, auth, api, make_order, caplog):
    caplog.set_level(logging.DEBUG)
    order_id = make_order("PS_OS_PAYMENT")
    auth.login("merchant")
    seen = [client.post(SETTINGS_URL, data=form_data(app), follow_redirects=True).get_data(as_text=True)]
    seen.append(client.post(SETTINGS_URL, data=form_data(app, pixel_id="x")).get_data(as_text=True))
    seen.append(api.get(API_URL, role="merchant").get_data(as_text=True))
    seen.append(api.put(API_URL, {"access_token": TOKEN, "pixel_id": "bad"}, role="merchant").get_data(as_text=True))
    seen.append(api.put(API_URL, {"access_token": TOKEN}, role="merchant").get_data(as_text=True))
    change(app, order_id, "PS_OS_REFUND")
    seen.append(client.get(f"/admin/orders/{order_id}").get_data(as_text=True))
    with app.app_context():
        assert load_settings().access_token == TOKEN  # it was stored, and is used
        outbox = db.session.scalar(select(func.count()).select_from(ModuleSetting))
    assert outbox
    for text in seen:
        assert TOKEN not in text
    assert MASKED in seen[0]
    assert caplog.records  # something was logged (settings changes, the status e-mail)
    assert TOKEN not in caplog.text
