"""Journey 1, shop admin: filter the orders, refund a paid order, then cancel ten orders in bulk."""

from playwright.sync_api import expect
from sqlalchemy import func, select

from delivery.models import Decision
from shop.models import Employee, Order, OrderState
from tests.browser.conftest import PHONE, accessibility_problems, no_horizontal_scroll, screenshot


def _state_id(site, key: str) -> int:
    return site.scalar(select(OrderState.id).where(OrderState.key == key))


def test_admin_refunds_a_paid_order_then_cancels_ten_in_bulk(site, page):
    paid = _state_id(site, "PS_OS_PAYMENT")
    paid_count = site.scalar(select(func.count()).select_from(Order).where(Order.current_state_id == paid))
    admin_name = site.scalar(select(Employee).where(Employee.email == "admin@example.com")).name
    site.login(page, "admin")

    # Filter the list down to the paid orders.
    page.goto(f"{site.url}/admin/orders")
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    screenshot(page, "journey1-orders-list", full_page=False)
    assert accessibility_problems(page) == []
    page.get_by_label("State", exact=True).select_option(label="Payment accepted")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.locator("#orders-total")).to_have_text(f"{paid_count} orders matching the filter")
    rows = page.locator("tr[data-order-id]")
    expect(rows).to_have_count(paid_count)
    for index in range(paid_count):
        expect(rows.nth(index).locator("td").nth(4)).to_have_text("Payment accepted")

    # Open the first paid order and refund it.
    reference = rows.first.get_by_role("link").first.inner_text()
    rows.first.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"Order {reference}")).to_be_visible()
    assert accessibility_problems(page) == []
    page.get_by_label("New status", exact=True).select_option(label="Refunded")
    page.get_by_role("button", name="Update status").click()

    expect(page.get_by_text(f"Status changed to Refunded (order {reference}).")).to_be_visible()
    expect(page.locator("#order-state")).to_have_text("Refunded")
    newest = page.locator("#history tbody tr").first
    expect(newest).to_contain_text("Refunded")
    expect(newest).to_contain_text(admin_name)
    decision = page.locator("#pixelplus-decisions tbody tr").filter(has_text="Payment accepted → Refunded")
    expect(decision).to_have_count(1)
    expect(decision.locator(".badge")).to_have_text("fired")
    expect(decision).to_contain_text("reporting")
    expect(page.locator("#pixelplus-events tbody tr")).to_have_count(1)
    screenshot(page, "journey1-order-refunded")
    order_id = site.scalar(select(Order.id).where(Order.reference == reference))
    assert site.scalar(select(Order.current_state_id).where(Order.id == order_id)) == _state_id(site, "PS_OS_REFUND")
    assert site.scalar(
        select(Decision.outcome)
        .where(Decision.order_id == order_id, Decision.destination == "meta_capi")
        .order_by(Decision.id.desc())
    ) == ("fired")

    # Select ten orders of the list, one of them already canceled, and cancel them all.
    page.get_by_role("link", name="Orders", exact=True).first.click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    rows = page.locator("tr[data-order-id]")
    canceled_row = rows.filter(has=page.locator("td:nth-child(5)", has_text="Canceled")).first
    already = canceled_row.get_by_role("link").first.inner_text()
    others = rows.filter(has_not=page.locator("td:nth-child(5)", has_text="Canceled"))
    chosen = [already] + [others.nth(index).get_by_role("link").first.inner_text() for index in range(9)]
    for ref in chosen:
        page.get_by_label(f"Select order {ref}", exact=True).check()
    expect(page.locator("[data-bulk-count]")).to_have_text("10 selected")
    page.get_by_label("New status for the selected orders").select_option(label="Canceled")
    page.get_by_role("button", name="Change order status").click()

    expect(page.get_by_role("heading", name="Change 10 orders to Canceled?")).to_be_visible()
    expect(page.get_by_text("1 of them is already in this state and will be skipped.")).to_be_visible()
    expect(page.locator("#bulk-orders tbody tr")).to_have_count(10)
    assert accessibility_problems(page) == []
    canceled = _state_id(site, "PS_OS_CANCELED")
    refs_canceled = select(func.count()).select_from(Order).where(Order.reference.in_(chosen))
    assert site.scalar(refs_canceled.where(Order.current_state_id == canceled)) == 1  # nothing changed yet
    page.get_by_role("button", name="Confirm: change 10 orders to Canceled").click()

    expect(page.get_by_role("heading", name="Status change to Canceled: report")).to_be_visible()
    expect(page.locator("#bulk-summary")).to_have_text("9 orders changed, 1 skipped.")
    skipped = page.locator("#bulk-skipped tbody tr")
    expect(skipped).to_have_count(1)
    expect(skipped).to_contain_text(already)
    expect(skipped).to_contain_text("already in state Canceled")
    expect(page.locator("#bulk-changed tbody tr")).to_have_count(9)
    for ref in chosen[1:]:
        expect(page.locator("#bulk-changed").get_by_role("link", name=ref)).to_be_visible()
    assert accessibility_problems(page) == []
    screenshot(page, "journey1-bulk-report")
    assert site.scalar(refs_canceled.where(Order.current_state_id == canceled)) == 10

    # The list at a phone's width: no sideways scroll.
    page.set_viewport_size(PHONE)
    page.goto(f"{site.url}/admin/orders")
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    assert no_horizontal_scroll(page), "the orders list scrolls sideways on a phone"
    screenshot(page, "journey1-orders-list-phone")
