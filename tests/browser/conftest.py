"""Browser fixtures: Debian's Chromium driven by Playwright, against the demo shop served on loopback.

Each test gets its own copy of a demo database built once per session, served over real HTTP with
CSRF on and the dispatcher in a background thread, exactly as `make demo` runs it.
"""

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from extensions import db
from tests.conftest import LiveServer

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# A phone's viewport (iPhone 12 to 15 class), for the "no sideways scroll" checks.
PHONE = {"width": 390, "height": 844}
# The demo logins `shop init-demo` creates.
DEMO_PASSWORDS = {role: f"demo-{role}" for role in ("superadmin", "admin", "merchant", "tester")}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _site_config(db_path: Path) -> dict:
    return {
        "SECRET_KEY": "browser-tests",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "DELIVERY_RETRY_SCHEDULE": [0.2],
        "DELIVERY_ALLOWED_HOSTS": ["127.0.0.1"],  # the embedded sandbox, on the site's random port
    }


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory) -> Path:
    """A demo shop database, built once and copied for each test."""
    from shop.demo import init_demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    app = create_app({**_site_config(path), "PIXELPLUS_DISPATCH": "worker"})
    with app.app_context():
        init_demo(app)
        db.session.remove()
        db.engine.dispose()  # closing the last connection folds the WAL into the file we copy
    return path


@dataclass
class Site:
    """The demo shop served over HTTP: its app (for assertions on the database) and base URL."""

    app: object
    url: str

    def login(self, page, role: str) -> None:
        """Sign in through the login form as the demo employee of a role."""
        page.goto(f"{self.url}/admin/login")
        page.get_by_label("E-mail").fill(f"{role}@example.com")
        page.get_by_label("Password").fill(DEMO_PASSWORDS[role])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/admin/login" not in url)

    def scalar(self, statement):
        """Run a query against the site's database."""
        with self.app.app_context():
            return db.session.scalar(statement)


@pytest.fixture
def site_config() -> dict:
    """Extra configuration for the served shop; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture
def site(demo_database, tmp_path, site_config):
    """The demo shop on a loopback port, Pixel Plus pointed at its own embedded sandbox.

    GA4 and Google Ads, which the demo also enables, are switched off here so the Meta journeys see
    Meta's events only; journey 7 (test_journey_google.py) switches them on against this site. Every
    module's sandbox URL is this site's, so the demo's own events (its chargeback postback's) are
    delivered at once instead of retrying against the demo's port 5000 in the background.
    """
    from ga4.settings import save_settings as save_ga4
    from googleads.settings import save_settings as save_ads
    from pixelplus.settings import save_settings
    from webhooks.models import WebhookEndpoint

    path = tmp_path / "shop.sqlite"
    shutil.copyfile(demo_database, path)
    app = create_app({**_site_config(path), "PIXELPLUS_DISPATCH": "thread", **site_config})
    with LiveServer(app) as live:
        with app.app_context():
            save_settings({"graph_url": f"{live.url}/sandbox/graph"})
            save_ga4({"enabled": False, "base_url": f"{live.url}/sandbox/ga4"})
            save_ads({"enabled": False, "base_url": f"{live.url}/sandbox/googleads"})
            for endpoint in db.session.scalars(select(WebhookEndpoint)):
                endpoint.url = endpoint.url.replace(app.config["WEBHOOKS_DEMO_URL"].split("/sandbox/")[0], live.url)
            db.session.commit()
        yield Site(app, live.url)
        with app.app_context():
            db.session.remove()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium, launched by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (make system-packages)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab at laptop width."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot (the full page, or only the viewport) under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def no_horizontal_scroll(page) -> bool:
    """Whether the page fits its viewport's width."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


# Every form field must have a label and every button a name; the browser resolves both.
_ACCESSIBILITY_PROBLEMS = """() => {
  const text = (node) => (node ? node.textContent.replace(/\\s+/g, " ").trim() : "");
  const byIds = (ids) => (ids || "").split(/\\s+/).map((id) => text(document.getElementById(id))).join(" ").trim();
  const describe = (el) => el.outerHTML.slice(0, 160);
  const problems = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (["hidden", "submit", "button", "reset", "image"].includes(type)) continue;
    const labelled = [...(el.labels || [])].some((label) => text(label))
      || (el.getAttribute("aria-label") || "").trim() || byIds(el.getAttribute("aria-labelledby"));
    if (!labelled) problems.push("field without a label: " + describe(el));
  }
  for (const el of document.querySelectorAll("button, a.btn, input[type=submit], input[type=button]")) {
    const name = (el.getAttribute("aria-label") || "").trim() || byIds(el.getAttribute("aria-labelledby"))
      || text(el) || (el.value || "").trim() || (el.getAttribute("title") || "").trim();
    if (!name) problems.push("button without a name: " + describe(el));
  }
  return problems;
}"""


def accessibility_problems(page) -> list[str]:
    """List the current page's form fields without a label and buttons without a name."""
    return page.evaluate(_ACCESSIBILITY_PROBLEMS)


def reload_until(page, locator, expected: str, timeout: float = 15.0) -> None:
    """Reload the page until locator contains expected (for pages that do not refresh themselves)."""
    from playwright.sync_api import expect

    deadline = time.monotonic() + timeout
    while True:
        try:
            expect(locator).to_contain_text(expected, timeout=500)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.reload()


__all__ = ["Site", "screenshot", "no_horizontal_scroll", "accessibility_problems", "reload_until", "select"]
