"""Journey 2, partial refund: a credit slip for one line of a three-line order, Partially refunded, then Refunded.

Partially refunded (a partial trigger) reports the slip; Refunded (a full one) reports what is left of
the order; each status change's message says what Pixel Plus queued, and the two add up to the order.
"""

import json
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from delivery.models import OutboxEvent
from extensions import db
from shop.models import CreditSlip, Order, OrderState
from tests.browser.conftest import accessibility_problems, reload_until, screenshot


def _three_line_delivered_order(site) -> dict:
    """Find a delivered demo order with three lines and no credit slip yet."""
    with site.app.app_context():
        delivered = select(OrderState.id).where(OrderState.key == "PS_OS_DELIVERED").scalar_subquery()
        for order in db.session.scalars(select(Order).where(Order.current_state_id == delivered).order_by(Order.id)):
            if len(order.lines) == 3 and not order.credit_slips:
                line = max(order.lines, key=lambda line: line.quantity)
                return {
                    "id": order.id,
                    "reference": order.reference,
                    "currency": order.currency,
                    "total": order.total_paid_tax_incl,
                    "line_id": line.id,
                    "product": line.product_name,
                    "other_lines": [other.id for other in order.lines if other.id != line.id],
                }
    raise AssertionError("the demo has no delivered three-line order without a credit slip")


def test_admin_refunds_one_line_then_partially_refunded_reports_the_slip_and_refunded_the_rest(site, page):
    order = _three_line_delivered_order(site)
    site.login(page, "admin")

    page.goto(f"{site.url}/admin/orders")
    page.get_by_label("Reference", exact=True).fill(order["reference"])
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.locator("tr[data-order-id]")).to_have_count(1)
    page.get_by_role("link", name=order["reference"]).click()
    expect(page.get_by_role("heading", name=f"Order {order['reference']}")).to_be_visible()
    expect(page.locator("#lines tbody tr")).to_have_count(3)

    # One unit of one line, without the shipping.
    page.get_by_label(f"Quantity of {order['product']} to refund").fill("1")
    page.get_by_role("button", name="Issue refund").click()

    with site.app.app_context():
        slip = db.session.scalar(select(CreditSlip).where(CreditSlip.order_id == order["id"]))
        assert slip is not None, "no credit slip was recorded"
        amount = slip.amount_tax_incl
        assert [(row.order_line_id, row.quantity) for row in slip.lines] == [(order["line_id"], 1)]
    shown = f"{amount:.2f} {order['currency']}"
    expect(page.get_by_text(f"Credit slip #{slip.id} issued: {shown} refunded")).to_be_visible()
    expect(page.locator(f"tr[data-line-id='{order['line_id']}'] [data-refunded-quantity]")).to_have_text("1")
    for other in order["other_lines"]:
        expect(page.locator(f"tr[data-line-id='{other}'] [data-refunded-quantity]")).to_have_text("0")
    expect(page.locator("#refunded-total")).to_have_text(shown)
    expect(page.locator("#order-state")).to_have_text("Delivered")  # a credit slip changes no status
    assert accessibility_problems(page) == []
    screenshot(page, "journey2-credit-slip")

    # Partially refunded is a partial trigger: the event reports the slip, and the message says so.
    page.get_by_label("New status", exact=True).select_option(label="Partially refunded")
    page.get_by_role("button", name="Update status").click()
    expect(page.locator("#order-state")).to_have_text("Partially refunded")
    expect(page.get_by_role("alert").filter(has_text="Status changed to Partially refunded")).to_contain_text(
        f"Pixel Plus: Refund {shown} queued"
    )
    event_row = page.locator("#pixelplus-events tbody tr")
    expect(event_row).to_have_count(1)
    expect(event_row.locator("td").nth(1)).to_have_text(shown)
    decision = page.locator("#pixelplus-decisions tbody tr").filter(has_text="Delivered → Partially refunded")
    expect(decision.locator(".badge")).to_have_text("fired")
    expect(decision).to_contain_text(f"(partial refund): reporting {shown}")
    screenshot(page, "journey2-partially-refunded")

    event_row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Refund")).to_be_visible()
    expect(page.locator("dt:has-text('Value') + dd")).to_have_text(shown)
    reload_until(page, page.locator("#event-status .badge"), "sent")
    assert accessibility_problems(page) == []
    screenshot(page, "journey2-refund-event")

    # Refunded is a full trigger: what is left of the order, the arithmetic in the decision.
    rest = order["total"] - amount
    rest_shown = f"{rest:.2f} {order['currency']}"
    page.goto(f"{site.url}/admin/orders/{order['id']}")
    page.get_by_label("New status", exact=True).select_option(label="Refunded")
    page.get_by_role("button", name="Update status").click()
    expect(page.locator("#order-state")).to_have_text("Refunded")
    expect(page.get_by_role("alert").filter(has_text="Status changed to Refunded")).to_contain_text(
        f"Pixel Plus: Refund {rest_shown} queued"
    )
    expect(event_row).to_have_count(2)
    decision = page.locator("#pixelplus-decisions tbody tr").filter(has_text="Partially refunded → Refunded")
    total_shown = f"{order['total']:.2f} {order['currency']}"
    expect(decision).to_contain_text(f"order total {total_shown} − {shown} already reported = {rest_shown}")
    assert accessibility_problems(page) == []
    screenshot(page, "journey2-refunded")

    with site.app.app_context():
        events = list(
            db.session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.order_id == order["id"], OutboxEvent.destination == "meta_capi")
                .order_by(OutboxEvent.id)
            )
        )
        assert [event.value for event in events] == [amount, rest]
        assert sum(event.value for event in events) == order["total"]
        custom = json.loads(events[0].payload_json)["custom_data"]
        assert Decimal(str(custom["value"])) == amount
        assert custom["num_items"] == 1
        assert len(custom["contents"]) == 1
