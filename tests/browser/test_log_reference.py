"""The sent-events log in Chromium at desktop and phone width: a part from the middle of an order's reference,
typed in lowercase, finds that order's events, and the charts follow the filter."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from delivery.models import OutboxEvent
from extensions import db
from tests.browser.conftest import screenshot


def _order_with_events(site) -> tuple[str, int]:
    """Return the reference of a demo order that has events, and how many it has."""
    with site.app.app_context():
        reference, count = db.session.execute(
            select(OutboxEvent.order_reference, func.count())
            .where(OutboxEvent.order_id.is_not(None))
            .group_by(OutboxEvent.order_reference)
            .order_by(func.count().desc(), OutboxEvent.order_reference)
            .limit(1)
        ).one()
        return reference, count


@pytest.mark.parametrize("width", [1366, 390])
def test_a_part_from_the_middle_of_a_reference_finds_its_events(site, browser, width):
    reference, count = _order_with_events(site)
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        site.login(page, "tester")
        page.goto(f"{site.url}/admin/events")
        page.get_by_label("Order reference").fill(reference[3:7].lower())
        page.get_by_role("button", name="Filter").click()
        rows = page.locator("#events-table tbody tr[data-event-id]")
        expect(rows.first).to_be_visible()
        assert rows.count() >= count  # another reference may hold the same four letters
        expect(page.locator("#events-table")).to_contain_text(reference)
        expect(page.locator("#chart-status-canvas")).to_have_attribute("data-chart-drawn", "true")
        # The whole page fits the screen: nothing wider than the viewport but the tables' own scroll boxes.
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{overflow}px wider than the screen"
        screenshot(page, f"log-reference-middle-{width}")
        page.get_by_label("Order reference").fill("qqqqq")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("No events match the filter")).to_be_visible()
    finally:
        context.close()
