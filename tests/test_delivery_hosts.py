"""Host rules: https to public addresses only, unless configuration allows the host; checked when a
merchant saves a base URL and again before every send. No test here connects to a non-loopback
address: names resolve through a stand-in resolver, and sends that must be refused would fail loudly."""

import pytest
from sqlalchemy import select

from delivery import hosts
from delivery.dispatcher import Dispatcher
from delivery.hosts import HostRefused, HostUnresolved, check_url
from delivery.http import HttpClient
from delivery.models import FAILED, DeliveryAttempt, OutboxEvent
from extensions import db
from tests.delivery_support import FakeGraph, QuickLiveServer, add_events, configure
from tests.test_pixelplus_settings import SETTINGS_URL, form_data

# What the stand-in DNS answers (the .invalid TLD never resolves for real, RFC 6761).
ZONE = {
    "public.invalid": ["93.184.215.14"],
    "metadata.invalid": ["169.254.169.254"],
    "intranet.invalid": ["10.0.0.1"],
    "mixed.invalid": ["93.184.215.14", "192.168.1.10"],
    "ula.invalid": ["fd00::1"],
    "mapped.invalid": ["::ffff:127.0.0.1"],
    "v6public.invalid": ["2606:2800:220:1:248:1893:25c8:1946"],
}


def fake_resolve(host: str, port: int) -> list[str]:
    if host not in ZONE:
        raise OSError(f"no such host {host}")
    return ZONE[host]


@pytest.fixture
def dns(monkeypatch):
    """Resolve names from ZONE only (the one edge of the rules that would otherwise reach the network)."""
    monkeypatch.setattr(hosts, "resolve", fake_resolve)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.1", "private"),
        ("https://[fd00::1]", "unique-local"),
        ("https://127.0.0.1:8443", "loopback"),
        ("https://[::1]", "loopback"),
        ("https://0.0.0.0", "unspecified"),
        ("https://224.0.0.1", "multicast"),
        ("https://[::ffff:10.0.0.1]", "IPv4-mapped private"),
        ("https://[fe80::1]", "link-local"),
        ("https://metadata.invalid", "169.254.169.254) is a link-local"),
        ("https://intranet.invalid", "private"),
        ("https://mixed.invalid", "192.168.1.10) is a private"),
        ("https://ula.invalid", "unique-local"),
        ("https://mapped.invalid", "IPv4-mapped loopback"),
        ("http://public.invalid", "plain http is refused"),
        ("ftp://public.invalid", "only http(s)"),
        ("https://user:pass@public.invalid", "user name or password"),
    ],
)
def test_private_and_special_addresses_are_refused(dns, url, reason):
    with pytest.raises(HostRefused) as refused:
        check_url(url)
    assert reason in str(refused.value)


@pytest.mark.parametrize("url", ["https://public.invalid/v26.0", "https://v6public.invalid", "https://93.184.215.14"])
def test_public_https_hosts_pass(dns, url):
    check_url(url)


def test_configuration_allows_a_host_or_a_host_and_port(dns):
    check_url("http://127.0.0.1:5000/sandbox/graph", ["127.0.0.1:5000"])
    check_url("http://localhost:8080", ["localhost"])
    check_url("https://intranet.invalid", ["intranet.invalid:443"])
    check_url("http://[::1]:9000", ["[::1]:9000"])
    with pytest.raises(HostRefused, match="loopback"):
        check_url("https://127.0.0.1:5001", ["127.0.0.1:5000"])  # another port
    with pytest.raises(HostRefused, match="plain http is refused"):
        check_url("http://127.0.0.1:5001", ["127.0.0.1:5000"])


def test_an_unresolvable_host_is_not_a_verdict(dns):
    with pytest.raises(HostUnresolved):
        check_url("https://nowhere.invalid")


@pytest.fixture
def nowhere_allowed(app):
    """The app with no allowed host: even loopback is refused, as in production."""
    app.config["DELIVERY_ALLOWED_HOSTS"] = []
    return app


@pytest.mark.parametrize(
    "graph_url",
    [
        "https://169.254.169.254",
        "https://10.0.0.1",
        "https://[fd00::1]",
        "https://127.0.0.1:8443",
        "https://metadata.invalid",
        "http://public.invalid",
        "http://127.0.0.1:5000",
    ],
)
def test_a_refused_base_url_is_a_field_error_on_save(nowhere_allowed, api, staff, dns, graph_url):
    before = api.get("/api/pixelplus/settings", "merchant").get_json()["graph_url"]
    response = api.put("/api/pixelplus/settings", {"graph_url": graph_url}, "merchant")

    assert response.status_code == 422, response.get_data(as_text=True)
    assert "graph_url" in response.get_json()["error"]["fields"]
    assert api.get("/api/pixelplus/settings", "merchant").get_json()["graph_url"] == before


def test_the_settings_form_shows_the_refusal_on_the_field(nowhere_allowed, client, auth, dns):
    auth.login("merchant")
    response = client.post(SETTINGS_URL, data=form_data(nowhere_allowed, graph_url="https://10.0.0.1"))
    assert response.status_code == 422
    assert "10.0.0.1 is a private address" in response.get_data(as_text=True)


def test_a_public_or_unresolvable_base_url_saves(nowhere_allowed, api, dns):
    for url in ("https://public.invalid", "https://graph.facebook.invalid"):
        response = api.put("/api/pixelplus/settings", {"graph_url": url}, "merchant")
        assert response.status_code == 200, response.get_data(as_text=True)


class NoConnection(HttpClient):
    """An HTTP client whose connections fail the test: the refusal must come before any of them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        def refuse(*_args, **_kwargs):
            raise AssertionError("a connection was attempted")

        self.session.post = refuse


@pytest.mark.parametrize(
    "graph_url, reason",
    [
        ("https://169.254.169.254", "link-local"),
        ("https://10.0.0.1", "private"),
        ("https://[fd00::1]", "unique-local"),
        ("https://metadata.invalid", "link-local"),
        ("http://public.invalid", "plain http is refused for public.invalid"),
    ],
)
def test_a_send_to_a_refused_host_fails_before_connecting(app, dns, monkeypatch, graph_url, reason):
    monkeypatch.setattr("delivery.dispatcher.HttpClient", NoConnection)
    with app.app_context():
        # Saved while DNS (or the configuration) said otherwise: the rules are checked again at send time.
        app.config["DELIVERY_ALLOWED_HOSTS"] = [hosts.host_port(graph_url)]
        configure(graph_url)
        app.config["DELIVERY_ALLOWED_HOSTS"] = []
        (event_id,) = add_events(1)
        dispatcher = Dispatcher(app, worker="hosts")
        assert dispatcher.run_once().failed == 1
        dispatcher.close()
        row = db.session.get(OutboxEvent, event_id)
        assert row.status == FAILED and row.last_error.startswith("refused: ") and reason in row.last_error
        attempt = db.session.scalars(select(DeliveryAttempt)).one()
        assert attempt.outcome == "permanent" and attempt.http_status is None


def test_loopback_not_allowed_gets_no_request(app):
    graph = FakeGraph()
    with QuickLiveServer(graph.app) as server, app.app_context():
        configure(server.url)
        app.config["DELIVERY_ALLOWED_HOSTS"] = []
        (event_id,) = add_events(1)
        dispatcher = Dispatcher(app, worker="hosts")
        assert dispatcher.run_once().failed == 1
        dispatcher.close()
        assert graph.requests == []
        assert "plain http is refused for 127.0.0.1" in db.session.get(OutboxEvent, event_id).last_error
