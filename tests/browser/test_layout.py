"""The layout defects of issue #15, measured in Chromium: nothing cut, nothing split mid-word, nothing drawn
over the sticky bulk bar, and the module panel's headers and amounts on one line."""

from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from shop.models import Order, OrderState
from shop.status import change_state
from tests.browser.conftest import no_horizontal_scroll


def test_orders_list_at_laptop_width(site, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        site.login(page, "admin")
        page.goto(f"{site.url}/admin/orders?per_page=50")
        assert no_horizontal_scroll(page)
        # The table fits its box (it was 4 px too wide).
        assert page.evaluate(
            "(() => { const b = document.querySelector('.orders-table').parentElement;"
            " return b.scrollWidth <= b.clientWidth; })()"
        )
        # A row's status select shows "Choose a status…" whole.
        select = page.locator(".row-status select").first
        assert select.evaluate("s => s.scrollWidth <= s.clientWidth")
        assert select.evaluate("s => s.getBoundingClientRect().width") >= select.evaluate(
            "s => { const c = document.createElement('canvas').getContext('2d');"
            " c.font = getComputedStyle(s).font; return c.measureText(s.options[0].text).width; }"
        )
        # E-mails stay on one line.
        heights = page.locator(".orders-table .email").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight))"
        )
        assert heights and max(heights) < 1.5, heights
        # Scrolled down, the sticky bulk bar stays above the rows' buttons.
        page.mouse.wheel(0, 900)
        bar = page.locator(".bulk-bar")
        expect(bar).to_be_in_viewport()
        box = bar.bounding_box()
        buttons = page.locator(".row-status .btn")
        for index in range(buttons.count()):
            button = buttons.nth(index).bounding_box()
            if button and button["y"] < box["y"] + box["height"] and button["y"] + button["height"] > box["y"]:
                x, y = button["x"] + button["width"] / 2, max(button["y"], box["y"]) + 2
                on_top = page.evaluate(f"document.elementFromPoint({x}, {y}).closest('.bulk-bar') !== null")
                assert on_top, "a row's button is drawn over the sticky bulk bar"
    finally:
        context.close()


def test_module_panel_headers_and_amounts_stay_whole(site, browser):
    with site.app.app_context():
        paid = select(OrderState.id).where(OrderState.key == "PS_OS_PAYMENT").scalar_subquery()
        order = db.session.scalar(select(Order).where(Order.current_state_id == paid).limit(1))
        change_state(order, OrderState.by_key("PS_OS_REFUND"))
        db.session.commit()
        order_id = order.id
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        site.login(page, "admin")
        page.goto(f"{site.url}/admin/orders/{order_id}")
        panel = page.locator('[data-module="pixelplus"]')
        expect(panel.locator("#pixelplus-events")).to_be_visible()
        # Every header and the value cell on one line ("Statu/s", "96.0/0 EUR" before).
        lines = panel.locator("th, #pixelplus-events td:nth-child(2)").evaluate_all(
            "els => els.map(e => [e.textContent.trim(), Math.round(e.getBoundingClientRect().height /"
            " parseFloat(getComputedStyle(e).lineHeight))])"
        )
        assert lines and all(height <= 2 for _text, height in lines), lines  # a line plus cell padding
        words = panel.locator("th").evaluate_all(
            "els => els.map(e => { const r = document.createRange(); r.selectNodeContents(e);"
            " return [e.textContent.trim(), r.getClientRects().length]; })"
        )
        assert all(rects == 1 for _text, rects in words), words
    finally:
        context.close()
