"""Journey 5, PrestaShop's partial refund: an amount on one line and part of the shipping, then Meta hears it.

The admin refunds 10.00 of one unit and 3.00 of the 8.40 shipping; the credit slip holds exactly 13.00
(PrestaShop's amount 10.00 and shipping_cost_amount 3.00, type "specific amount"); the order goes to
Partially refunded (a partial trigger), and Pixel Plus reports exactly the slip: 10.00 + 3.00 = 13.00.
"""

import json
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from delivery.models import META_CAPI, SENT, OutboxEvent
from extensions import db
from sandbox.models import ReceivedEvent
from shop.models import CreditSlip, Order, OrderState
from tests.browser.conftest import accessibility_problems, screenshot
from tests.conftest import wait_for


def _paid_order_with_a_line_over_ten(site) -> dict:
    """Find a paid, undelivered demo order without a credit slip whose first dear line costs over 10.00."""
    with site.app.app_context():
        paid = select(OrderState.id).where(OrderState.key.in_(["PS_OS_PAYMENT", "PS_OS_PREPARATION"]))
        for order in db.session.scalars(select(Order).where(Order.current_state_id.in_(paid)).order_by(Order.id)):
            dear = [line for line in order.lines if line.unit_price_tax_incl > Decimal("10.00")]
            if dear and not order.credit_slips and order.total_shipping_tax_incl == Decimal("8.40"):
                return {
                    "id": order.id,
                    "reference": order.reference,
                    "currency": order.currency,
                    "state": order.current_state.name,
                    "line_id": dear[0].id,
                    "product": dear[0].product_name,
                }
    raise AssertionError("the demo has no paid order with a line over 10.00 and no credit slip")


def test_admin_refunds_an_amount_and_part_of_the_shipping_and_meta_gets_exactly_the_slip(site, page):
    from pixelplus.settings import save_settings

    with site.app.app_context():
        # The value as the slip states it: products and shipping, tax included.
        save_settings({"value_tax_incl": True, "value_shipping_incl": True})
        db.session.commit()
    order = _paid_order_with_a_line_over_ten(site)
    site.login(page, "admin")
    page.goto(f"{site.url}/admin/orders/{order['id']}")
    expect(page.get_by_role("heading", name=f"Order {order['reference']}")).to_be_visible()
    expect(page.locator("#invoice-number")).to_contain_text("#IN")  # Payment accepted gave it an invoice

    page.get_by_label("Kind of refund").select_option("partial")
    page.get_by_label(f"Quantity of {order['product']} to refund").fill("1")
    page.get_by_label(f"Amount of {order['product']} to refund (tax incl.)").fill("10.00")
    page.get_by_label("Shipping to refund (tax incl.)").fill("3.00")
    page.get_by_label("Refund with").select_option("credit_slip")
    assert accessibility_problems(page) == []
    screenshot(page, "journey5-refund-form")
    page.get_by_role("button", name="Issue refund").click()

    shown = f"13.00 {order['currency']}"  # 10.00 + 3.00
    expect(page.get_by_role("alert").filter(has_text="Credit slip #")).to_contain_text(f"{shown} refunded")
    expect(page.locator("#refunded-total")).to_have_text(shown)
    expect(page.locator(f"tr[data-line-id='{order['line_id']}'] [data-refunded-quantity]")).to_have_text("1")
    expect(page.locator("#order-state")).to_have_text(order["state"])  # a refund changes no status
    with site.app.app_context():
        slip = db.session.scalar(select(CreditSlip).where(CreditSlip.order_id == order["id"]))
        assert (slip.total_products_tax_incl, slip.total_shipping_tax_incl) == (Decimal("10.00"), Decimal("3.00"))
        assert (slip.amount, slip.shipping_cost_amount, slip.slip_type) == (Decimal("10.00"), Decimal("3.00"), 2)
        assert [(row.order_line_id, row.quantity) for row in slip.lines] == [(order["line_id"], 1)]
    screenshot(page, "journey5-credit-slip")

    page.get_by_label("New status", exact=True).select_option(label="Partially refunded")
    page.get_by_role("button", name="Update status").click()
    expect(page.locator("#order-state")).to_have_text("Partially refunded")
    event_row = page.locator("#pixelplus-events tbody tr")
    expect(event_row).to_have_count(1)
    expect(event_row.locator("td").nth(1)).to_have_text(shown)

    meta = select(OutboxEvent).where(OutboxEvent.order_id == order["id"], OutboxEvent.destination == META_CAPI)

    def sent():
        with site.app.app_context():
            return db.session.scalar(meta.where(OutboxEvent.status == SENT))

    wait_for(sent, timeout=15, message="the Refund event to reach the sandbox")
    with site.app.app_context():
        event = db.session.scalar(meta)
        assert event.value == Decimal("13.00")
        assert json.loads(event.payload_json)["custom_data"]["value"] == 13.0
        received = db.session.scalar(select(ReceivedEvent).where(ReceivedEvent.event_id == event.event_id))
        assert received.event["custom_data"]["value"] == 13.0, "the sandbox received exactly the slip"
    screenshot(page, "journey5-partially-refunded")
