"""Journey 7, merchant and tester: the GA4 and Google Ads settings pages, GA4's test event, a refund seen by
both sandboxes on their tabs of the Test events page."""

from playwright.sync_api import expect
from sqlalchemy import select

from delivery import allow_host
from extensions import db
from ga4.settings import save_settings as save_ga4
from googleads.settings import save_settings as save_ads
from shop.models import Order, OrderState
from shop.status import change_state
from tests.browser.conftest import PHONE, accessibility_problems, no_horizontal_scroll, screenshot
from tests.conftest import wait_for


def _point_at_this_site(site) -> None:
    """Switch both modules on (the site fixture turns them off) against this site's sandboxes."""
    allow_host(site.app, site.url)
    with site.app.app_context():
        save_ga4({"base_url": f"{site.url}/sandbox/ga4", "enabled": True})
        save_ads({"base_url": f"{site.url}/sandbox/googleads", "enabled": True})
        db.session.commit()


def test_merchant_sees_both_modules_and_validates_a_ga4_event(site, page):
    _point_at_this_site(site)
    site.login(page, "merchant")
    page.get_by_role("link", name="Modules", exact=True).click()
    page.locator("tr[data-module]", has_text="GA4 refunds").get_by_role("link", name="Configure").click()
    expect(page.get_by_role("heading", name="GA4 refunds")).to_be_visible()
    expect(page.locator("#module-status")).to_have_text("Enabled")
    assert "sandboxDemoApiSecret01" not in page.content()
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator("#test-event-result")).to_contain_text("Valid: the validation server returned no messages")
    screenshot(page, "journey7-ga4-settings")

    page.get_by_label("Measurement id").fill("UA-1234")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The settings were not saved")).to_be_visible()
    expect(page.locator("#field-measurement_id ~ .invalid-feedback")).to_contain_text("G-XXXXXXXXXX")

    page.get_by_role("link", name="Modules", exact=True).click()
    page.locator("tr[data-module]", has_text="Google Ads adjustments").get_by_role("link", name="Configure").click()
    expect(page.get_by_role("heading", name="Google Ads adjustments")).to_be_visible()
    expect(page.get_by_label("Account time zone")).to_have_value("Europe/Paris")
    expect(page.get_by_role("link", name="Download the adjustments CSV")).to_be_visible()
    assert accessibility_problems(page) == []
    screenshot(page, "journey7-googleads-settings")


def test_tester_follows_a_refund_to_both_sandboxes(site, page):
    _point_at_this_site(site)
    with site.app.app_context():
        paid = db.session.scalars(
            select(Order).join(Order.current_state).where(OrderState.key == "PS_OS_PAYMENT")
        ).first()
        reference = paid.reference
        change_state(paid, OrderState.by_key("PS_OS_REFUND"))
        db.session.commit()
    site.login(page, "tester")
    page.goto(f"{site.url}/sandbox/")
    tabs = page.get_by_role("navigation", name="Sandbox services")
    tabs.get_by_role("link", name="GA4", exact=True).click()

    def ga4_shows_it():
        page.reload()
        return reference in page.content()

    wait_for(ga4_shows_it, timeout=15, message="the GA4 tab to list the refund")
    assert accessibility_problems(page) == []
    screenshot(page, "journey7-sandbox-ga4")
    tabs.get_by_role("link", name="Google Ads", exact=True).click()

    def ads_shows_it():
        page.reload()
        return reference in page.content()

    wait_for(ads_shows_it, timeout=15, message="the Google Ads tab to list the retraction")
    expect(page.locator("#ads-adjustments")).to_contain_text("RETRACTION")
    expect(page.locator("#ads-adjustments")).to_contain_text("applied")
    screenshot(page, "journey7-sandbox-googleads")


def test_admin_sees_the_ga4_and_google_ads_panels_on_the_order_page_at_laptop_and_phone_width(site, browser):
    _point_at_this_site(site)
    with site.app.app_context():
        paid = db.session.scalars(
            select(Order).join(Order.current_state).where(OrderState.key == "PS_OS_PAYMENT")
        ).first()
        order_id, reference = paid.id, paid.reference
        change_state(paid, OrderState.by_key("PS_OS_REFUND"))
        db.session.commit()
    for name, viewport in (("laptop", {"width": 1366, "height": 900}), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            site.login(page, "admin")
            page.goto(f"{site.url}/admin/orders/{order_id}")
            for module, prefix, service in (("ga4", "ga4", "GA4"), ("googleads", "googleads", "Google Ads")):
                panel = page.locator(f'[data-module="{module}"]')
                # The panel refreshes itself: the event shows sent once the sandbox took it (Ads knew the order).
                expect(panel.locator(f"#{prefix}-events")).to_contain_text("sent", timeout=15_000)
                expect(panel.locator(f"#{prefix}-money")).to_contain_text(f"Acknowledged by {service}:")
                expect(panel.locator(f"#{prefix}-decisions")).to_contain_text("Payment accepted → Refunded")
                headers = panel.locator("th").evaluate_all(
                    "els => els.map(e => { const r = document.createRange(); r.selectNodeContents(e);"
                    " return [e.textContent.trim(), r.getClientRects().length]; })"
                )
                assert headers and all(rects == 1 for _text, rects in headers), headers
            expect(page.locator('[data-module="googleads"]')).to_contain_text(f"ads-{reference}-1")
            assert no_horizontal_scroll(page)
            assert accessibility_problems(page) == []
            page.locator('[data-module="ga4"]').scroll_into_view_if_needed()
            screenshot(page, f"journey7-order-panels-{name}")
        finally:
            context.close()
