"""The live back office in Chromium: an event's attempts grow while the sandbox fails, then "sent" appears
once the fault is cleared, without reloading the event page, the log or the order page; and a hidden
page stops polling."""

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from delivery.models import OutboxEvent
from extensions import db
from shop.models import Order, OrderState
from tests.browser.conftest import screenshot
from tests.conftest import wait_for


@pytest.fixture
def site_config():
    # An open circuit breaker probes at most 1 s apart, so a cleared fault is seen within seconds.
    return {"DELIVERY_PROBE_MAX_SECONDS": 1}


def _paid_order(site) -> str:
    paid = select(OrderState.id).where(OrderState.key == "PS_OS_PAYMENT").scalar_subquery()
    with site.app.app_context():
        return db.session.scalar(select(Order.reference).where(Order.current_state_id == paid).limit(1))


def _meta_waiting(site) -> int:
    with site.app.app_context():
        pending = (OutboxEvent.destination == "meta_capi") & (OutboxEvent.status == "pending")
        return db.session.scalar(select(func.count(OutboxEvent.id)).where(pending))


def _navigations(page) -> list[str]:
    """Record every navigation of page's main frame from now on (a reload would show up here)."""
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
    return seen


def _attempts(page) -> int:
    return int(page.locator("#attempt-count").inner_text())


def test_attempts_grow_then_sent_appears_without_reloading(site, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        site.login(page, "merchant")  # the first request starts the web process's dispatcher thread
        # The demo's own Meta events (its chargeback postback's) leave first: an open breaker probes with the
        # oldest waiting event, and this journey watches its own event's attempts grow.
        wait_for(lambda: not _meta_waiting(site), timeout=15, message="the demo's Meta events to be sent")
        # Every Graph request fails with a transient error.
        page.goto(f"{site.url}/sandbox/")
        page.get_by_label("Error", exact=True).select_option(value="transient")
        page.get_by_label("Share of requests that fail (0–1)").fill("1")
        page.get_by_label("Only the next N requests").fill("")
        page.get_by_role("button", name="Set faults").click()
        expect(page.locator("#faults")).to_contain_text("transient error on 100.0% of requests")

        # An admin refunds a paid order (a second window).
        admin_context = browser.new_context(viewport={"width": 1366, "height": 768})
        admin = admin_context.new_page()
        site.login(admin, "admin")
        reference = _paid_order(site)
        admin.goto(f"{site.url}/admin/orders?reference={reference}")
        admin.get_by_role("link", name=reference).click()
        admin.get_by_label("New status", exact=True).select_option(label="Refunded")
        admin.get_by_role("button", name="Update status").click()
        expect(admin.locator("#order-state")).to_have_text("Refunded")
        admin_navigations = _navigations(admin)

        # The merchant opens the log (it will not be reloaded) and, in another tab, the event's page.
        log = context.new_page()
        log.goto(f"{site.url}/admin/events?reference={reference}&destination=meta_capi")
        log_row = log.locator("#events-table tbody tr[data-event-id]")
        expect(log_row).to_have_count(1)
        log_navigations = _navigations(log)
        log_row.get_by_role("link", name="Refund").first.click()
        expect(log.get_by_role("heading", name="Refund")).to_be_visible()
        event_url = log.url
        log.go_back()
        expect(log_row).to_have_count(1)
        log_navigations.clear()

        page.goto(event_url)
        expect(page.locator("#event-status .badge")).to_have_text("pending")
        navigations = _navigations(page)
        first = _attempts(page)
        # Without reloading, the attempts grow: the count, the list and the timeline.
        page.wait_for_function(f"() => Number(document.querySelector('#attempt-count').textContent) >= {first + 2}")
        assert page.locator("#attempts .attempt").count() >= 2
        expect(page.locator("#attempts .attempt").first).to_contain_text("transient")
        expect(page.locator("#attempt-timeline-canvas")).to_have_attribute("data-chart-drawn", "true")
        expect(page.locator("#next-try-countdown")).to_have_text(re.compile(r"^(in \d+ s|due now)$"))
        expect(log_row.locator(".badge")).to_have_text("pending")
        screenshot(page, "live-event-pending")

        # The fault is cleared in another tab; "sent" appears within seconds on every open page.
        sandbox = context.new_page()
        sandbox.goto(f"{site.url}/sandbox/")
        sandbox.get_by_role("button", name="Clear faults").click()
        expect(sandbox.locator("#faults")).to_contain_text("No fault: the sandbox answers normally.")
        cleared = time.monotonic()
        expect(page.locator("#event-status .badge")).to_have_text("sent", timeout=8_000)
        seconds = time.monotonic() - cleared
        expect(log_row.locator(".badge")).to_have_text("sent", timeout=4_000)
        expect(admin.locator("#pixelplus-events")).to_contain_text("sent", timeout=6_000)
        assert navigations == [] and log_navigations == [] and admin_navigations == [], "a page was reloaded"
        assert seconds < 8
        # Once sent the page stops asking: no more polling attributes on its live part.
        expect(page.locator("#event-live")).not_to_have_attribute("hx-get", re.compile(".+"))
        screenshot(page, "live-event-sent")
        # The pictures for the README: the log with its charts, and the sandbox's live feed.
        log.set_viewport_size({"width": 1366, "height": 1000})
        log.goto(f"{site.url}/admin/events?destination=meta_capi")
        expect(log.locator("#chart-status-canvas")).to_have_attribute("data-chart-drawn", "true")
        expect(log.locator("#chart-value-canvas")).to_have_attribute("data-chart-drawn", "true")
        screenshot(log, "live-log", full_page=False)
        expect(sandbox.locator("#received-events tbody tr").first).to_be_visible()
        expect(sandbox.locator("#sandbox-per-minute-canvas")).to_have_attribute("data-chart-drawn", "true")
        sandbox.set_viewport_size({"width": 1366, "height": 1000})
        screenshot(sandbox, "live-sandbox", full_page=False)
        admin_context.close()
    finally:
        context.close()


def test_a_hidden_page_stops_polling(site, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        site.login(page, "tester")
        polls: list[str] = []
        page.on("request", lambda request: polls.append(request.url) if "/sandbox/feed" in request.url else None)
        page.goto(f"{site.url}/sandbox/")
        expect(page.locator("#sandbox-feed")).to_have_attribute("data-live", "")
        deadline = time.monotonic() + 10
        while not polls and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert polls, "the visible page polls"
        # Hide the page as a browser does for a background tab.
        page.evaluate(
            """() => {
                Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
                document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
        settled = len(polls)
        page.wait_for_timeout(5_000)  # two and a half polling periods: the quiet itself is what is tested
        assert len(polls) == settled, "a hidden page must not poll"
        page.evaluate(
            """() => {
                Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "visible"});
                document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
        deadline = time.monotonic() + 5
        while len(polls) == settled and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert len(polls) > settled, "coming back refreshes at once"
    finally:
        context.close()
