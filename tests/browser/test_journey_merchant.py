"""Journey 3, merchant: Modules → Pixel Plus → Configure, invalid values refused, fixed, saved, test event sent."""

import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from extensions import db
from pixelplus.settings import load_settings, save_settings
from sandbox.models import ReceivedEvent
from shop.models import OrderState
from tests.browser.conftest import accessibility_problems, screenshot

# field label → (an invalid value, the start of the message the page must show under that field)
INVALID = {
    "Pixel ID": ("12ab34", "The pixel id is made of digits only"),
    "Conversions API access token": ("not a token", "The access token has characters a Meta token never has"),
    "Graph API version": ("26", "Write the Graph API version as vNN.N"),
    "Graph API base URL": ("http://graph.example.com", "Plain http is refused for graph.example.com"),
    "Test event code": ("TEST 1!", "A test event code is letters and digits"),
}


def _settings(site):
    with site.app.app_context():
        return load_settings()


def test_merchant_fixes_invalid_settings_picks_returned_and_sends_a_test_event(site, page):
    with site.app.app_context():
        returned = db.session.scalar(select(OrderState.id).where(OrderState.name == "Returned"))
        # The demo already fires on Returned; start from a shop where it does not, so the merchant picks it.
        save_settings({"trigger_state_ids": [i for i in load_settings().trigger_state_ids if i != returned]})
        db.session.commit()
    before = _settings(site)
    site.login(page, "merchant")

    page.get_by_role("link", name="Modules", exact=True).click()
    expect(page.get_by_role("heading", name="Modules")).to_be_visible()
    assert accessibility_problems(page) == []
    page.locator("tr[data-module]", has_text="Pixel Plus").get_by_role("link", name="Configure").click()
    expect(page.get_by_role("heading", name="Pixel Plus · Refund event")).to_be_visible()
    assert accessibility_problems(page) == []
    graph_url = page.get_by_label("Graph API base URL").input_value()

    # Every invalid value gets its own message under its field; nothing is stored.
    for label, (value, _) in INVALID.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The settings were not saved: correct the fields marked below.")).to_be_visible()
    for label, (_, message) in INVALID.items():
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_class(re.compile(r"\bis-invalid\b"))
        field_id = field.get_attribute("id")
        expect(page.locator(f"#{field_id} ~ .invalid-feedback")).to_contain_text(message)
    assert page.locator(".invalid-feedback").count() == len(INVALID)
    assert accessibility_problems(page) == []
    screenshot(page, "journey3-settings-invalid")
    assert _settings(site) == before

    # Fixed values save (an empty token field keeps the stored token).
    page.get_by_label("Pixel ID", exact=True).fill(before.pixel_id)
    page.get_by_label("Conversions API access token", exact=True).fill("")
    page.get_by_label("Graph API version", exact=True).fill("v26.0")
    page.get_by_label("Graph API base URL", exact=True).fill(graph_url)
    page.get_by_label("Test event code", exact=True).fill("TEST4242")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Pixel Plus settings saved.")).to_be_visible()
    expect(page.locator(".invalid-feedback")).to_have_count(0)
    saved = _settings(site)
    assert (saved.test_event_code, saved.api_version, saved.access_token) == ("TEST4242", "v26.0", before.access_token)
    expect(page.get_by_text(f"Current token: {saved.masked_token}.")).to_be_visible()
    assert before.access_token not in page.content()

    # The custom "Returned" state becomes a trigger.
    returned_box = page.get_by_label("Returned (custom)", exact=True)
    expect(returned_box).not_to_be_checked()
    returned_box.check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Pixel Plus settings saved.")).to_be_visible()
    expect(page.get_by_label("Returned (custom)", exact=True)).to_be_checked()
    assert returned in _settings(site).trigger_state_ids
    screenshot(page, "journey3-settings", full_page=False)

    # "Send test event" shows the sandbox's answer on the page.
    page.get_by_role("button", name="Send test event").click()
    result = page.locator("#test-event-result")
    expect(result).to_contain_text("Accepted.")
    expect(result).to_contain_text("events_received: 1")
    expect(result).to_contain_text("HTTP 200")
    assert accessibility_problems(page) == []
    screenshot(page, "journey3-test-event")
    received = select(func.count()).select_from(ReceivedEvent).where(ReceivedEvent.test_event_code == "TEST4242")
    assert site.scalar(received) == 1
