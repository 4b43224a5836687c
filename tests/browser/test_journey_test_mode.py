"""Journey 7, test mode: the merchant saves a test code, every back-office page says so, the bulk report sums the
test events it queued, and test mode ends by itself."""

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select, update

from core.dbtypes import utcnow
from delivery.models import META_CAPI, OutboxEvent
from extensions import db
from pixelplus.models import ModuleSetting
from pixelplus.settings import TEST_MODE_SINCE_KEY
from shop.models import Order
from tests.browser.conftest import PHONE, accessibility_problems, no_horizontal_scroll, screenshot

BANNER = "#pixelplus-test-mode"


def test_test_mode_banner_bulk_summary_and_the_end_of_test_mode(site, page):
    site.login(page, "merchant")
    page.goto(f"{site.url}/admin/pixelplus/settings")
    expect(page.locator(BANNER)).to_have_count(0)
    page.get_by_label("Test event code", exact=True).fill("TEST777")
    page.get_by_label("Test mode ends by itself after (minutes)").fill("30")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Pixel Plus settings saved.")).to_be_visible()
    expect(page.locator(BANNER)).to_contain_text("Pixel Plus is in test mode.")
    expect(page.locator(BANNER)).to_contain_text("TEST777")
    assert accessibility_problems(page) == []
    screenshot(page, "journey7-test-mode-settings", full_page=False)

    # The admin sees the banner on every page, and the bulk report says the events went out as tests.
    page.get_by_role("button", name="Sign out").click()
    site.login(page, "admin")
    page.goto(f"{site.url}/admin/orders")
    expect(page.locator(BANNER)).to_be_visible()
    expect(page.locator(BANNER)).not_to_contain_text("Test mode settings")  # an admin may not open them

    def bulk(state_filter: str, count: int, new_state: str) -> list[str]:
        """Filter the list by state, select its first orders, change them in bulk; return their references."""
        page.goto(f"{site.url}/admin/orders")
        page.get_by_label("State", exact=True).select_option(label=state_filter)
        page.get_by_role("button", name="Filter", exact=True).click()
        rows = page.locator("tr[data-order-id]")
        references = [rows.nth(index).get_by_role("link").first.inner_text() for index in range(count)]
        for reference in references:
            page.get_by_label(f"Select order {reference}", exact=True).check()
        page.get_by_label("New status for the selected orders").select_option(label=new_state)
        page.get_by_role("button", name="Change order status").click()
        page.get_by_role("button", name=f"Confirm: change {count} orders to {new_state}").click()
        expect(page.get_by_role("heading", name=f"Status change to {new_state}: report")).to_be_visible()
        return references

    chosen = bulk("Payment accepted", 2, "Refunded")
    with site.app.app_context():
        orders = list(db.session.scalars(select(Order).where(Order.reference.in_(chosen))))
        currencies = {order.currency for order in orders}
        totals = {c: sum(o.total_paid_tax_incl for o in orders if o.currency == c) for c in currencies}
    modules = page.locator("#bulk-modules [data-module='Pixel Plus']")
    expect(modules.locator(".events-queued")).to_have_text("2")
    for currency, total in totals.items():
        expect(modules.locator(".events-total")).to_contain_text(f"{total:.2f} {currency}")
    expect(modules).to_contain_text("2 sent as test events")
    expect(page.get_by_role("alert")).to_contain_text("Pixel Plus: 2 events queued")
    expect(page.locator(BANNER)).to_be_visible()
    assert accessibility_problems(page) == []
    screenshot(page, "journey7-bulk-report")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page), "the bulk report scrolls sideways on a phone"
    page.set_viewport_size({"width": 1366, "height": 900})

    # Unpaid orders canceled in bulk: nothing queued, the skips counted by reason.
    bulk("Awaiting bank wire payment", 2, "Canceled")
    modules = page.locator("#bulk-modules [data-module='Pixel Plus']")
    expect(modules.locator(".events-queued")).to_have_text("0")
    expect(modules.locator(".skipped-reasons")).to_contain_text(
        "2 × order was never paid before this change (only paid orders)"
    )

    with site.app.app_context():
        codes = db.session.scalars(
            select(OutboxEvent.test_event_code)
            .join(Order, Order.id == OutboxEvent.order_id)
            .where(Order.reference.in_(chosen), OutboxEvent.destination == META_CAPI)
        )
        assert list(codes) == ["TEST777", "TEST777"]

        # Thirty-one minutes later (the clock moves; nobody waits): test mode has ended by itself.
        since = utcnow() - timedelta(minutes=31)
        db.session.execute(
            update(ModuleSetting).where(ModuleSetting.name == TEST_MODE_SINCE_KEY).values(value=since.isoformat())
        )
        db.session.commit()
    page.goto(f"{site.url}/admin/orders")
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    expect(page.locator(BANNER)).to_have_count(0)
    screenshot(page, "journey7-test-mode-ended", full_page=False)
