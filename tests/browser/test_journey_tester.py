"""Journey 4, tester: the sent-events log, a skipped decision, a failing sandbox, a recovery and a resend.

The tester reads the log and drives the sandbox's faults; the refunds and the resend need a role that may
change orders and resend events, so a superadmin works beside the tester in a second browser window.
"""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from delivery.models import OutboxEvent
from extensions import db
from shop.models import Order, OrderState
from tests.browser.conftest import PHONE, accessibility_problems, no_horizontal_scroll, reload_until, screenshot

# The tester's lists, checked at a phone's width.
PHONE_PAGES = {
    "sent-events-log": "/admin/events",
    "decisions": "/admin/decisions",
    "sandbox": "/sandbox/",
}


@pytest.fixture
def site_config():
    # Retries one second apart (with jitter) and doubling: a failing event stays pending, with its failed
    # attempts, for far longer than the tester takes to look at it, and never runs out of attempts meanwhile.
    return {"DELIVERY_RETRY_SCHEDULE": [1.0]}


def _orders_in(site, key: str, count: int) -> list[str]:
    state = select(OrderState.id).where(OrderState.key == key).scalar_subquery()
    with site.app.app_context():
        query = select(Order.reference).where(Order.current_state_id == state).order_by(Order.id).limit(count)
        return list(db.session.scalars(query))


def _window(browser, site, role: str):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    site.login(page, role)
    return context, page


def _open_order(page, site, reference: str) -> None:
    page.goto(f"{site.url}/admin/orders?reference={reference}")
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"Order {reference}")).to_be_visible()


def _change_status(page, state_name: str) -> None:
    page.get_by_label("New status", exact=True).select_option(label=state_name)
    page.get_by_role("button", name="Update status").click()
    expect(page.locator("#order-state")).to_have_text(state_name)


def _set_faults(page, site, error: str, count: int | None) -> None:
    page.goto(f"{site.url}/sandbox/")
    expect(page.get_by_role("heading", name="Test events")).to_be_visible()
    page.get_by_label("Error", exact=True).select_option(value=error)
    page.get_by_label("Share of requests that fail (0–1)").fill("1")
    page.get_by_label("Only the next N requests").fill("" if count is None else str(count))
    page.get_by_role("button", name="Set faults").click()
    expect(page.get_by_text("Faults set: the next Graph requests will be affected.")).to_be_visible()
    expect(page.locator("#faults")).to_contain_text(f"{error} error on 100.0% of requests")


def _open_event_of(page, site, reference: str) -> str:
    """Filter the log by an order reference, open its one Meta event, and return its event_id."""
    page.goto(f"{site.url}/admin/events?destination=meta_capi")
    page.get_by_label("Order reference").fill(reference)
    page.get_by_role("button", name="Filter", exact=True).click()
    rows = page.locator("#events-table tbody tr[data-event-id]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(reference)
    event_id = rows.first.locator("td").nth(2).locator(".font-monospace").inner_text()
    rows.first.get_by_role("link", name="Refund").click()
    expect(page.get_by_role("heading", name="Refund")).to_be_visible()
    return event_id


def test_tester_follows_events_through_a_failing_sandbox_and_a_resend(site, page, browser):
    first, second = _orders_in(site, "PS_OS_PAYMENT", 2)
    (unpaid,) = _orders_in(site, "PS_OS_BANKWIRE", 1)
    tester = page
    site.login(tester, "tester")
    colleague, admin = _window(browser, site, "superadmin")
    try:
        # The sandbox fails every request with a transient error; a refund is made meanwhile.
        tester.get_by_role("link", name="Sandbox").click()
        expect(tester.get_by_role("heading", name="Test events")).to_be_visible()
        assert accessibility_problems(tester) == []
        _set_faults(tester, site, "transient", None)
        _open_order(admin, site, first)
        _change_status(admin, "Refunded")

        # The tester finds the event pending, with its failed attempts.
        event_id = _open_event_of(tester, site, first)
        reload_until(tester, tester.locator(".attempt").first, "transient")
        expect(tester.locator("#event-status .badge")).to_have_text("pending")
        expect(tester.locator("#last-error")).to_contain_text("attempt")
        expect(tester.get_by_role("button", name="Resend with the same event_id")).to_have_count(0)
        screenshot(tester, "journey4-event-pending")

        # Clearing the fault lets the next try through.
        tester.get_by_role("link", name="Sandbox").click()
        tester.get_by_role("button", name="Clear faults").click()
        expect(tester.get_by_text("Faults cleared: the sandbox answers normally.")).to_be_visible()
        expect(tester.locator("#faults")).to_contain_text("No fault: the sandbox answers normally.")
        assert _open_event_of(tester, site, first) == event_id
        reload_until(tester, tester.locator("#event-status .badge"), "sent")
        expect(tester.locator("h1")).to_contain_text(event_id)

        # Its payload and the sandbox's answer.
        payload = tester.locator("#payload")
        expect(payload).to_contain_text('"event_name": "Refund"')
        expect(payload).to_contain_text(f'"event_id": "{event_id}"')
        expect(payload).to_contain_text(f'"order_reference": "{first}"')
        expect(tester.locator("#response")).to_contain_text('"events_received": 1')
        expect(tester.locator(".attempt").filter(has_text="transient").first).to_contain_text("HTTP")
        expect(tester.locator(".attempt").last).to_contain_text("HTTP 200")
        expect(tester.locator("#decision")).to_contain_text("fired")
        assert accessibility_problems(tester) == []
        screenshot(tester, "journey4-event-sent")

        # A skipped decision and its reason: cancelling an order that was never paid.
        _open_order(admin, site, unpaid)
        _change_status(admin, "Canceled")
        tester.get_by_role("link", name="Decisions", exact=True).first.click()
        expect(tester.get_by_role("heading", name="Decisions")).to_be_visible()
        tester.get_by_label("Outcome").select_option(label="Skipped")
        tester.get_by_label("Destination").select_option(label="Meta Conversions API")
        tester.get_by_label("Order reference").fill(unpaid)
        tester.get_by_role("button", name="Filter", exact=True).click()
        skipped = tester.locator("#decisions-table tbody tr[data-decision-id]").filter(has_text="→ Canceled")
        expect(skipped).to_have_count(1)
        expect(skipped.locator(".badge")).to_have_text("skipped")
        expect(skipped).to_contain_text("order was never paid before this change (only paid orders)")
        assert accessibility_problems(tester) == []
        screenshot(tester, "journey4-decision-skipped")

        # A refused token fails an event for good; the superadmin resends it with the same event_id.
        _set_faults(tester, site, "token", 1)
        _open_order(admin, site, second)
        _change_status(admin, "Refunded")
        failed_id = _open_event_of(tester, site, second)
        reload_until(tester, tester.locator("#event-status .badge"), "failed")
        expect(tester.locator("#last-error")).to_contain_text("190")
        tester.goto(f"{site.url}/admin/events?status=failed")
        expect(tester.locator("#events-table tbody tr[data-event-id]")).to_have_count(1)
        assert _open_event_of(admin, site, second) == failed_id
        admin.get_by_role("button", name="Resend with the same event_id").click()
        expect(admin.get_by_text(f"Event {failed_id} is queued again with the same event_id.")).to_be_visible()
        reload_until(admin, admin.locator("#event-status .badge"), "sent")
        expect(admin.locator("h1")).to_contain_text(failed_id)
        with site.app.app_context():
            meta = (OutboxEvent.order_reference == second) & (OutboxEvent.destination == "meta_capi")
            events = db.session.scalars(select(OutboxEvent).where(meta)).all()
            assert [(e.event_id, e.status) for e in events] == [(failed_id, "sent")]
    finally:
        colleague.close()

    # The whole log (Meta's events), at a laptop's width and a phone's: this journey's two orders' events
    # and the demo's own (its chargeback postback fires Meta too).
    tester.goto(f"{site.url}/admin/events?destination=meta_capi")
    with site.app.app_context():
        meta_events = db.session.scalar(
            select(func.count(OutboxEvent.id)).where(OutboxEvent.destination == "meta_capi")
        )
    expect(tester.locator("#events-table tbody tr[data-event-id]")).to_have_count(meta_events)
    for reference in (first, second):
        expect(tester.locator("#events-table tbody tr[data-event-id]").filter(has_text=reference)).to_have_count(1)
    assert accessibility_problems(tester) == []
    screenshot(tester, "journey4-sent-events-log", full_page=False)
    tester.set_viewport_size(PHONE)
    for name, path in PHONE_PAGES.items():
        tester.goto(f"{site.url}{path}")
        assert no_horizontal_scroll(tester), f"{path} scrolls sideways on a phone"
        screenshot(tester, f"journey4-{name}-phone")
