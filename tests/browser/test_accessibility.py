"""axe-core (through axe-playwright-python) on every back-office page, at laptop and phone widths.

The pages come from the URL map, so a page anyone adds later is scanned too: every GET route under
/admin and /sandbox that answers HTML (its arguments filled with a real row of the demo shop). No
violation of impact "serious" or "critical" may remain.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import func, select

from extensions import db
from sandbox.models import ReceivedEvent
from shop.models import Order
from tests.browser.conftest import PHONE, screenshot
from tests.conftest import wait_for

BLOCKING = {"serious", "critical"}
# Not pages: downloads, stylesheets, and the door itself (fragments are told apart by their missing doctype).
NOT_PAGES = re.compile(r"(/feed$|/panels/|\.css$|\.csv$|\.json$|/export|/login$|/logout$)")
WIDTHS = {"laptop": {"width": 1366, "height": 768}, "phone": PHONE}


def _first_id(site, model) -> int | None:
    return site.scalar(select(model.id).order_by(model.id.desc()).limit(1))


def back_office_pages(site) -> list[str]:
    """Every GET page under /admin and /sandbox, with its arguments filled from the demo shop's rows."""
    ids = {"order_id": _first_id(site, Order), "received_id": _first_id(site, ReceivedEvent)}
    try:
        from delivery.models import OutboxEvent
    except ImportError:
        from pixelplus.models import OutboxEvent
    ids["event_id"] = _first_id(site, OutboxEvent)
    pages = set()
    for rule in site.app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.rule.startswith(("/admin", "/sandbox")):
            continue
        if rule.rule.startswith(("/sandbox/api", "/sandbox/graph", "/sandbox/ga4/", "/sandbox/googleads/v")):
            continue
        if rule.endpoint.endswith("static") or NOT_PAGES.search(rule.rule):
            continue
        path = rule.rule
        for argument in rule.arguments:
            value = ids.get(
                "received_id" if rule.endpoint.startswith("sandbox") and argument == "event_id" else argument
            )
            if value is None:
                break
            path = re.sub(rf"<(?:\w+(?:\([^)]*\))?:)?{argument}>", str(value), path)
        else:
            pages.add(path)
    return sorted(pages)


def _refund_one_order(site) -> None:
    """Refund a paid order, so the event page, the sandbox's event page and a busy order panel exist too."""
    from shop.models import OrderState
    from shop.status import change_state

    with site.app.app_context():
        paid = select(OrderState.id).where(OrderState.key == "PS_OS_PAYMENT").scalar_subquery()
        order = db.session.scalar(select(Order).where(Order.current_state_id == paid).limit(1))
        change_state(order, OrderState.by_key("PS_OS_REFUND"))
        db.session.commit()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_serious_or_critical_violation_on_any_back_office_page(site, browser, width):
    context = browser.new_context(viewport=WIDTHS[width])
    context.set_default_timeout(10_000)
    page = context.new_page()
    axe = Axe()
    problems = []
    try:
        _refund_one_order(site)
        site.login(page, "superadmin")
        wait_for(lambda: site.scalar(select(func.count()).select_from(ReceivedEvent)), message="the refund received")
        pages = back_office_pages(site)
        assert len(pages) >= 12, pages
        for path in pages:
            response = page.goto(f"{site.url}{path}")
            if (
                response is None
                or response.status != 200
                or "text/html" not in response.headers.get("content-type", "")
            ):
                continue
            if not page.evaluate("document.doctype !== null"):
                continue  # a fragment a live page polls (htmx), not a page of its own
            results = axe.run(page)
            for violation in results.response["violations"]:
                if violation["impact"] in BLOCKING:
                    targets = [node["target"] for node in violation["nodes"]][:3]
                    problems.append(
                        f"{path}: {violation['id']} ({violation['impact']}) {violation['help']} at {targets}"
                    )
        if problems:
            screenshot(page, f"axe-{width}-last")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
