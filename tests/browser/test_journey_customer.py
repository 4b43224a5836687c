"""Journey 6, customer: lands from a Meta ad, buys two products; the back office shows the captured browser data."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from shop.models import Order
from tests.browser.conftest import PHONE, accessibility_problems, no_horizontal_scroll, screenshot

FBCLID = "IwAR2journeySix_Click-Id"
CAMPAIGN = {"utm_source": "facebook", "utm_medium": "paid_social", "utm_campaign": "autumn_refund_test"}
PRODUCTS = ["Hummingbird printed t-shirt", "Mug The adventure begins"]


def _cookie(context, name: str) -> str:
    values = [cookie["value"] for cookie in context.cookies() if cookie["name"] == name]
    assert values, f"the browser has no {name} cookie"
    return values[0]


def test_customer_from_an_ad_buys_two_products_and_the_order_keeps_fbc_fbp_and_campaign(site, page, browser):
    query = "&".join(f"{key}={value}" for key, value in CAMPAIGN.items())
    page.goto(f"{site.url}/?fbclid={FBCLID}&{query}")
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    assert accessibility_problems(page) == []
    screenshot(page, "journey6-catalog", full_page=False)
    fbc = _cookie(page.context, "_fbc")
    fbp = _cookie(page.context, "_fbp")
    assert re.fullmatch(rf"fb\.1\.\d{{13}}\.{FBCLID}", fbc), fbc
    assert re.fullmatch(r"fb\.1\.\d{13}\.\d{10}", fbp), fbp

    # Browse on (no utm any more: the first touch is kept), add two products, check out by card.
    page.get_by_role("link", name="Catalog").click()
    page.get_by_role("button", name=f"Add {PRODUCTS[0]} to cart").click()
    expect(page.get_by_text(f"Added 1 × {PRODUCTS[0]} to your cart.")).to_be_visible()
    page.locator(".product-card", has_text=PRODUCTS[1]).get_by_label("Qty").fill("2")
    page.get_by_role("button", name=f"Add {PRODUCTS[1]} to cart").click()
    expect(page.get_by_text(f"Added 2 × {PRODUCTS[1]} to your cart.")).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("3")
    page.get_by_role("link", name="Cart").click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    assert accessibility_problems(page) == []
    page.get_by_role("link", name="Proceed to checkout").click()

    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    page.get_by_label("E-mail").fill("camille.durand@example.com")
    page.get_by_label("First name").fill("Camille")
    page.get_by_label("Last name").fill("Durand")
    page.get_by_label("Phone").fill("06 12 34 56 78")
    page.get_by_label("City").fill("Nantes")
    page.get_by_label("Postcode").fill("44000")
    page.get_by_label("Country").select_option("FR")
    page.get_by_label("Card", exact=True).check()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/39")
    page.get_by_label("CVC").fill("123")
    assert accessibility_problems(page) == []
    screenshot(page, "journey6-checkout")
    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    reference = page.locator("#order-reference").inner_text()
    assert re.fullmatch(r"[A-Z]{9}", reference), reference
    screenshot(page, "journey6-confirmation")

    # The storefront catalog at a phone's width.
    page.set_viewport_size(PHONE)
    page.goto(f"{site.url}/")
    assert no_horizontal_scroll(page), "the catalog scrolls sideways on a phone"
    screenshot(page, "journey6-catalog-phone")

    # The shop admin finds the order with what the browser brought.
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    admin = context.new_page()
    try:
        site.login(admin, "admin")
        admin.get_by_label("Reference", exact=True).fill(reference)
        admin.get_by_role("button", name="Filter", exact=True).click()
        admin.get_by_role("link", name=reference).click()
        expect(admin.get_by_role("heading", name=f"Order {reference}")).to_be_visible()
        lines = admin.locator("#lines tbody tr")
        expect(lines).to_have_count(2)
        expect(lines.filter(has_text=PRODUCTS[0]).locator("td").nth(2)).to_have_text("1")
        expect(lines.filter(has_text=PRODUCTS[1]).locator("td").nth(2)).to_have_text("2")
        captured = {
            label: admin.locator(f"#browser-data dt:text-is('{label}') + dd").inner_text()
            for label in ("fbc", "fbp", "utm_source", "utm_medium", "utm_campaign", "IP address")
        }
        assert captured["fbc"] == fbc
        assert captured["fbp"] == fbp
        assert {key: captured[key] for key in CAMPAIGN} == CAMPAIGN
        assert captured["IP address"] == "127.0.0.1"
        screenshot(admin, "journey6-order-browser-data")
    finally:
        context.close()
    assert site.scalar(select(Order.fbc).where(Order.reference == reference)) == fbc
