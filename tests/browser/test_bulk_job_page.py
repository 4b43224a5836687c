"""A bulk status change above the threshold in Chromium: the job's page polls its progress until the report."""

import re

import pytest
from sqlalchemy import func, select

from shop.bulk_jobs import BulkJob
from tests.browser.conftest import screenshot


@pytest.fixture
def site_config() -> dict:
    return {"BULK_BACKGROUND_THRESHOLD": 5}  # ten orders make a background job; the web process's thread runs it


def test_a_large_bulk_change_shows_its_progress_then_its_report(site, page):
    refused = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    site.login(page, "admin")
    page.goto(f"{site.url}/admin/orders?per_page=20")
    boxes = page.locator("input[name=order_ids]")
    for index in range(10):
        boxes.nth(index).check()
    page.get_by_label("New status for the selected orders").select_option(label="Canceled")
    page.get_by_role("button", name="Change order status").click()
    page.get_by_role("button", name="Confirm: change 10 orders to Canceled").click()

    page.wait_for_url(re.compile(r".*/admin/orders/bulk-jobs/\d+$"))
    assert page.get_by_role("heading", name="Status change of 10 orders to Canceled").is_visible()
    assert page.locator("progress#bulk-job-progress").get_attribute("max") == "10"
    # htmx replaces the live part every 2 s until the thread has finished the job.
    page.locator('#bulk-job-live[data-status="done"]').wait_for(timeout=30_000)
    assert page.locator("progress#bulk-job-progress").get_attribute("value") == "10"
    counts = page.locator("#bulk-job-counts").inner_text()
    assert site.scalar(select(BulkJob.changed_count)) == int(counts.split(" changed")[0])
    assert site.scalar(select(func.count()).select_from(BulkJob)) == 1
    assert page.locator("#bulk-job-live").get_attribute("hx-get") is None, "polling stops once the job is over"
    assert refused == []
    screenshot(page, "backoffice-bulk-job")
