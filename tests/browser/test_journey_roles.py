"""Journey 5, roles: a tester reads but cannot change; a logged-out visitor always meets the login page."""

from sqlalchemy import select

from shop.models import Order, OrderState
from tests.browser.conftest import screenshot


def _paid_order_id(site) -> int:
    paid = select(OrderState.id).where(OrderState.key == "PS_OS_PAYMENT")
    return site.scalar(select(Order.id).where(Order.current_state_id == paid.scalar_subquery()).limit(1))


def test_tester_sees_no_change_buttons_and_is_refused_when_forcing(site, page):
    order_id = _paid_order_id(site)
    site.login(page, "tester")

    page.goto(f"{site.url}/admin/orders")
    assert page.get_by_role("heading", name="Orders").is_visible()
    assert page.get_by_role("button", name="Change order status").count() == 0

    page.goto(f"{site.url}/admin/orders/{order_id}")
    assert page.get_by_role("button", name="Update status").count() == 0
    assert page.locator("form[action$='/status']").count() == 0
    screenshot(page, "roles-tester-order")

    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refunded = site.scalar(select(OrderState.id).where(OrderState.key == "PS_OS_REFUND"))
    forced = page.request.post(
        f"{site.url}/admin/orders/{order_id}/status", form={"csrf_token": token, "state_id": str(refunded)}
    )
    assert forced.status == 403
    assert site.scalar(select(Order.current_state_id).where(Order.id == order_id)) != refunded

    page.goto(f"{site.url}/admin/pixelplus/settings")
    assert page.get_by_role("button", name="Save").count() == 0
    forced = page.request.post(f"{site.url}/admin/pixelplus/settings", form={"csrf_token": token, "enabled": "y"})
    assert forced.status == 403

    page.goto(f"{site.url}/admin/employees")
    assert "Not allowed" in page.content()


def test_logged_out_visitor_meets_the_login_page_everywhere(site, page):
    adapter = site.app.url_map.bind("localhost")
    urls = []
    for rule in site.app.url_map.iter_rules():
        if not rule.rule.startswith(("/admin", "/sandbox/")) or "GET" not in rule.methods:
            continue
        if rule.endpoint == "auth.login" or rule.rule.startswith(("/sandbox/graph", "/sandbox/api")):
            continue
        urls.append(adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, 1)))
    assert len(urls) >= 8, urls
    for path in sorted(set(urls)):
        page.goto(f"{site.url}{path}")
        assert "/admin/login" in page.url, f"{path} did not send a logged-out visitor to the login page"
        assert page.get_by_role("button", name="Sign in").is_visible()
