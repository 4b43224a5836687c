"""Journey: a refund reason and note on the order page's forms, at laptop and phone width.

An admin refunds one unit with a reason and a two-line note, sees what each module did in the message and
the reason on the slip; a note holding a control character comes back with a message on the note and
nothing written; the status change to Refunded records its own reason in the history.
"""

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from delivery.models import OutboxEvent
from extensions import db
from shop.models import CreditSlip, Order, OrderHistory, OrderState
from tests.browser.conftest import PHONE, accessibility_problems, no_horizontal_scroll, screenshot

WIDTHS = {"laptop": {"width": 1366, "height": 900}, "phone": PHONE}


def _paid_order_without_slip(site) -> dict:
    with site.app.app_context():
        paid = select(OrderState.id).where(OrderState.key == "PS_OS_PAYMENT").scalar_subquery()
        for order in db.session.scalars(select(Order).where(Order.current_state_id == paid).order_by(Order.id)):
            if not order.credit_slips:
                line = order.lines[0]
                return {"id": order.id, "product": line.product_name, "price": line.unit_price_tax_incl}
    raise AssertionError("the demo has no paid order without a credit slip")


def _rows(site, order_id: int) -> tuple[int, int]:
    with site.app.app_context():
        slips = db.session.scalar(select(func.count(CreditSlip.id)).where(CreditSlip.order_id == order_id))
        history = db.session.scalar(select(func.count(OrderHistory.id)).where(OrderHistory.order_id == order_id))
        return slips, history


@pytest.mark.parametrize("width", WIDTHS)
def test_reason_and_note_on_the_refund_and_status_forms(site, page, width):
    page.set_viewport_size(WIDTHS[width])
    order = _paid_order_without_slip(site)
    site.login(page, "admin")
    page.goto(f"{site.url}/admin/orders/{order['id']}")
    refund, status = page.locator("#refund"), page.locator("#status")
    expect(refund.get_by_label("Refund reason")).to_be_visible()
    expect(status.get_by_label("Note")).to_be_visible()
    assert no_horizontal_scroll(page) and accessibility_problems(page) == []

    # A control character in the note (the browser's own typing cannot make one; a script can).
    before = _rows(site, order["id"])
    refund.get_by_label(f"Quantity of {order['product']} to refund").fill("1")
    refund.get_by_label("Note").evaluate("(el) => { el.value = 'bell\\u0007'; }")
    refund.get_by_role("button", name="Issue refund").click()
    expect(page.locator("#refund .invalid-feedback")).to_contain_text("The note holds control characters")
    expect(page.locator("#refund-note")).to_have_class("form-control form-control-sm is-invalid")
    assert _rows(site, order["id"]) == before
    assert no_horizontal_scroll(page)

    # The slip with a reason and a two-line note; the message names what each module did.
    page.locator("#refund").get_by_label(f"Quantity of {order['product']} to refund").fill("1")
    page.locator("#refund").get_by_label("Refund reason").select_option(label="Duplicate order")
    page.locator("#refund").get_by_label("Note").fill("ordered twice\nsee ticket 42")
    page.locator("#refund").get_by_role("button", name="Issue refund").click()
    shown = f"{order['price']:.2f}"
    message = page.get_by_role("alert").filter(has_text="issued")
    expect(message).to_contain_text(f"{shown} EUR refunded")
    # Pixel Plus reports slips only with a refund status (its setting); the demo's webhook endpoint takes it now.
    expect(message).to_contain_text("Pixel Plus: nothing sent (credit slip #")
    expect(message).to_contain_text(f"Webhooks: transaction.refunded {shown} EUR queued")
    slip_reason = page.locator("#credit-slips [data-slip-reason]")
    expect(slip_reason).to_contain_text("Duplicate order")
    expect(slip_reason).to_contain_text("ordered twice")
    assert no_horizontal_scroll(page)
    screenshot(page, f"refund-reason-slip-{width}")

    # The status change's own reason, in the history.
    page.locator("#status").get_by_label("New status", exact=True).select_option(label="Refunded")
    page.locator("#status").get_by_label("Refund reason").select_option(label="Fraudulent order")
    page.locator("#status").get_by_role("button", name="Update status").click()
    expect(page.locator("#order-state")).to_have_text("Refunded")
    expect(page.locator("#history tbody tr").first.locator("[data-history-reason]")).to_have_text("Fraudulent order")
    assert no_horizontal_scroll(page) and accessibility_problems(page) == []
    screenshot(page, f"refund-reason-history-{width}")

    with site.app.app_context():
        (slip,) = db.session.scalars(select(CreditSlip).where(CreditSlip.order_id == order["id"])).all()
        assert (slip.reason, slip.note) == ("duplicate", "ordered twice\nsee ticket 42")
        last = db.session.scalars(
            select(OrderHistory).where(OrderHistory.order_id == order["id"]).order_by(OrderHistory.id.desc())
        ).first()
        assert (last.reason, last.note) == ("fraudulent", None)
        hooks = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.order_id == order["id"], OutboxEvent.destination == "webhook")
        ).all()
        reasons = [json.loads(row.payload_json)["data"]["refund"]["reason"] for row in hooks]
        assert reasons == ["duplicate", "fraudulent"]
