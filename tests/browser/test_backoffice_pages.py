"""The back office in Chromium: select-all and the bulk bar, the bulk confirmation, phone-width layouts."""

import pytest
from sqlalchemy import func, select

from shop.models import Order, OrderState
from tests.browser.conftest import no_horizontal_scroll, screenshot


def test_select_all_enables_the_bulk_button_and_the_server_confirms(site, page):
    site.login(page, "admin")
    page.goto(f"{site.url}/admin/orders?per_page=20")
    bulk = page.get_by_role("button", name="Change order status")
    assert bulk.is_disabled()
    page.get_by_label("Select all on this page").check()
    assert bulk.is_enabled()
    assert page.locator("[data-bulk-count]").inner_text() == "20 selected"
    page.get_by_label("Select all on this page").uncheck()
    assert bulk.is_disabled()

    boxes = page.locator("input[name=order_ids]")
    for index in range(10):
        boxes.nth(index).check()
    assert page.locator("[data-bulk-count]").inner_text() == "10 selected"
    page.get_by_label("New status for the selected orders").select_option(label="Canceled")
    bulk.click()
    page.wait_for_url("**/admin/orders/bulk-status*")
    assert page.get_by_role("heading", name="Change 10 orders to Canceled?").is_visible()
    screenshot(page, "backoffice-bulk-confirm")

    canceled = select(OrderState.id).where(OrderState.key == "PS_OS_CANCELED").scalar_subquery()
    before = site.scalar(select(func.count()).select_from(Order).where(Order.current_state_id == canceled))
    page.get_by_role("button", name="Confirm: change 10 orders to Canceled").click()
    assert page.get_by_role("heading", name="Status change to Canceled: report").is_visible()
    summary = page.locator("#bulk-summary").inner_text()
    changed = site.scalar(select(func.count()).select_from(Order).where(Order.current_state_id == canceled)) - before
    assert f"{changed} order" in summary and "changed" in summary
    screenshot(page, "backoffice-bulk-report")


@pytest.mark.parametrize("width", [1366, 390])
def test_back_office_pages_fit_the_screen(site, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 850})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        site.login(tab, "superadmin")
        order_id = site.scalar(select(Order.id).order_by(Order.id.desc()).limit(1))
        for name, path in [
            ("orders", "/admin/orders"),
            ("order", f"/admin/orders/{order_id}"),
            ("order-states", "/admin/order-states"),
            ("employees", "/admin/employees"),
            ("modules", "/admin/modules"),
        ]:
            tab.goto(f"{site.url}{path}")
            assert tab.locator("h1").first.is_visible()
            screenshot(tab, f"backoffice-{name}-{width}")
            assert no_horizontal_scroll(tab), f"{path} scrolls sideways at {width}px"
    finally:
        context.close()
