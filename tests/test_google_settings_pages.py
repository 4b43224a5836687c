"""The GA4 and Google Ads settings pages: merchants save, testers read, secrets never shown, errors per field."""

import re

import pytest
from sqlalchemy import select

from extensions import db
from ga4.settings import load_settings as ga4_settings
from googleads.settings import load_settings as ads_settings
from shop.models import OrderState

GA4_FORM = {
    "measurement_id": "G-ABCDE12345",
    "api_secret": "pageSecret-98765",
    "region": "eu",
    "base_url": "",
    "transaction_id_source": "id",
    "item_id_source": "reference",
    "enabled": "on",
    "paid_only": "on",
}


def refunded_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(OrderState.id).where(OrderState.key == "PS_OS_REFUND"))


def test_merchant_saves_ga4_settings_and_the_secret_is_never_shown(app, client, auth):
    auth.login("merchant")
    state = refunded_id(app)
    form = {**GA4_FORM, "trigger_state_ids": [str(state)], f"kind_{state}": "partial"}
    assert client.post("/admin/ga4/settings", data=form).status_code == 302
    with app.app_context():
        saved = ga4_settings()
    assert (saved.measurement_id, saved.api_secret, saved.region, saved.enabled) == (
        "G-ABCDE12345",
        "pageSecret-98765",
        "eu",
        True,
    )
    assert saved.trigger_state_ids == (state,) and saved.trigger_kinds[state] == "partial"
    assert saved.endpoint == "https://region1.google-analytics.com"
    page = client.get("/admin/ga4/settings").get_data(as_text=True)
    assert "pageSecret-98765" not in page and "page…8765" in page
    # Saving again with the secret field left empty keeps the secret.
    client.post("/admin/ga4/settings", data={**form, "api_secret": ""})
    with app.app_context():
        assert ga4_settings().api_secret == "pageSecret-98765"


def test_refused_form_shows_each_message_and_stores_nothing(app, client, auth):
    auth.login("merchant")
    form = {**GA4_FORM, "measurement_id": "UA-123", "api_secret": "no spaces allowed", "base_url": "http://192.168.1.1"}
    response = client.post("/admin/ga4/settings", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "looks like G-XXXXXXXXXX" in page and "Plain http is refused for 192.168.1.1" in page
    assert "no spaces allowed" not in page
    assert len(re.findall(r"invalid-feedback", page)) == 3
    with app.app_context():
        assert ga4_settings().measurement_id == "" and ga4_settings().enabled is False


def test_tester_reads_the_pages_but_cannot_save(app, client, auth):
    auth.login("tester")
    for path in ("/admin/ga4/settings", "/admin/googleads/settings"):
        page = client.get(path).get_data(as_text=True)
        assert "only a merchant can change them" in page and "<fieldset disabled" in page
    assert client.post("/admin/googleads/settings", data={"customer_id": "1234567890"}).status_code == 403


def test_google_ads_customer_id_with_dashes_and_time_zone(app, client, auth, api):
    auth.login("merchant")
    form = {
        "customer_id": "123-456-7890",
        "conversion_action_id": "42",
        "oauth_refresh_token": "1//refreshToken-abcdef",
        "time_zone": "Europe/Paris",
        "api_version": "v26",
        "base_url": "https://googleads.googleapis.com",
        "conversion_name": "Purchase",
        "enabled": "on",
        "paid_only": "on",
    }
    assert client.post("/admin/googleads/settings", data=form).status_code == 302
    with app.app_context():
        saved = ads_settings()
    assert saved.customer_id == "1234567890" and saved.conversion_action == "customers/1234567890/conversionActions/42"
    shown = api.get("/api/googleads/settings", "tester").get_json()
    assert shown["oauth_refresh_token"] == "1//r…cdef" and "developer_token" not in shown
    bad = api.put(
        "/api/googleads/settings", {"time_zone": "Mars/Olympus", "api_version": "26", "customer_id": "12"}, "merchant"
    )
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {
        "time_zone",
        "api_version",
        "customer_id",
    }


@pytest.mark.parametrize("path", ["/api/ga4/settings", "/api/googleads/settings"])
def test_enabling_without_credentials_is_refused(api, path):
    response = api.put(path, {"enabled": True}, "merchant")
    assert response.status_code == 422 and response.get_json()["error"]["fields"]
    assert api.get(path, "tester").get_json()["enabled"] is False
