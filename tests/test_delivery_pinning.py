"""DNS pinning: the delivery connection opens only to an address it checked with the host rules, so a DNS
answer that changes after the check (rebinding) cannot reach an internal address. DNS is the one edge a test
cannot reach otherwise: socket.getaddrinfo is replaced by an answer the test controls."""

import shutil
import socket
import subprocess
import threading
from datetime import timedelta

import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from core.dbtypes import utcnow
from delivery.dispatcher import Dispatcher
from delivery.hosts import HostRefused, host_port
from delivery.models import PENDING, OutboxEvent
from delivery.pinning import PinnedAdapter
from extensions import db
from tests.delivery_support import TOKEN, add_events, configure

REAL_GETADDRINFO = socket.getaddrinfo


def answers(name: str, *addresses: str):
    """A getaddrinfo that answers name with each of addresses in turn, round and round."""
    calls: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002  (socket's own names)
        if host != name:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        address = addresses[len(calls) % len(addresses)]
        calls.append(address)
        kind = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, int(port or 0), 0, 0) if kind == socket.AF_INET6 else (address, int(port or 0))
        return [(kind, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    getaddrinfo.calls = calls
    return getaddrinfo


@pytest.fixture
def internal_port():
    """A loopback port standing for an internal service; yields (port, a function counting connections to it)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)

    def connections() -> int:
        count = 0
        while True:
            try:
                accepted, _ = listener.accept()
            except BlockingIOError:
                return count
            accepted.close()
            count += 1

    yield listener.getsockname()[1], connections
    listener.close()


def test_a_dns_answer_that_turns_private_after_the_check_is_refused_and_the_event_retried(
    app, monkeypatch, internal_port
):
    port, connections = internal_port
    url = f"https://rebind.invalid:{port}"
    with app.app_context():
        app.config["DELIVERY_ALLOWED_HOSTS"] = [host_port(url)]
        configure(url)  # saved while allowed: nothing resolved yet
        app.config["DELIVERY_ALLOWED_HOSTS"] = []
        # The check sees a public address; the name then rebinds to loopback (where the internal service is).
        dns = answers("rebind.invalid", "93.184.215.14", "127.0.0.1")
        monkeypatch.setattr(socket, "getaddrinfo", dns)
        (event_id,) = add_events(1)
        dispatcher = Dispatcher(app, worker="pinning")
        summary = dispatcher.run_once()

        assert summary.failed == 0 and summary.retrying == 1
        assert dns.calls == ["93.184.215.14", "127.0.0.1"]  # checked once, then resolved by the connection
        assert connections() == 0  # the internal address never got a connection
        row = db.session.get(OutboxEvent, event_id)
        assert row.status == PENDING and row.next_attempt_at > utcnow()
        assert "refused at connect: rebind.invalid (127.0.0.1) is a loopback address" in row.last_error
        (attempt,) = row.attempt_rows
        assert attempt.outcome == "transient" and attempt.http_status is None
        assert TOKEN not in (attempt.error or "") + row.last_error + attempt.request_url

        # Due again: checked public again, rebound again, refused again; still waiting (its window is days long).
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert dispatcher.run_once().retrying == 1
        dispatcher.close()
        row = db.session.get(OutboxEvent, event_id)
        assert row.status == PENDING and row.attempts == 2 and connections() == 0
        assert dns.calls == ["93.184.215.14", "127.0.0.1"] * 2


def test_every_address_is_checked_at_connect_not_only_the_first(app, monkeypatch, internal_port):
    port, connections = internal_port
    url = f"https://mixed.invalid:{port}"
    with app.app_context():
        app.config["DELIVERY_ALLOWED_HOSTS"] = [host_port(url)]
        configure(url)
        app.config["DELIVERY_ALLOWED_HOSTS"] = []
        monkeypatch.setattr(socket, "getaddrinfo", answers("mixed.invalid", "93.184.215.14", "::ffff:10.0.0.1"))
        (event_id,) = add_events(1)
        dispatcher = Dispatcher(app, worker="pinning")
        assert dispatcher.run_once().retrying == 1
        dispatcher.close()
        assert "IPv4-mapped private address" in db.session.get(OutboxEvent, event_id).last_error
        assert connections() == 0


class Recorder:
    """A loopback server that records the Host header of every request."""

    def __init__(self):
        self.hosts: list[str] = []
        self.app = Flask("recorder")

        @self.app.post("/events")
        def events():
            self.hosts.append(request.host)
            return {"ok": True}


def serve(app, ssl_context=None):
    """Serve app on a loopback port in a thread; return the server (shut it down after)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server


def pinned_session(guard) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    adapter = PinnedAdapter(guard, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def test_the_connection_opens_to_the_checked_address_and_tries_the_next_one():
    recorder = Recorder()
    server = serve(recorder.app)
    port = server.server_port
    asked = []

    def guard(scheme, host, port_):
        asked.append((scheme, host, port_))
        # 127.0.0.2 is loopback too, but nothing listens there: the connection moves on to 127.0.0.1.
        return ["127.0.0.2", "127.0.0.1"] if host == "shop-destination.invalid" else None

    try:
        with pinned_session(guard) as session:
            # The name resolves nowhere (.invalid): only the guard's addresses can have been used.
            answer = session.post(f"http://shop-destination.invalid:{port}/events", data=b"{}", timeout=2)
    finally:
        server.shutdown()
    assert answer.status_code == 200
    assert recorder.hosts == [f"shop-destination.invalid:{port}"]  # the Host header still names the host
    assert asked == [("http", "shop-destination.invalid", port)]


def test_a_refusing_guard_raises_before_any_connection(internal_port):
    port, connections = internal_port

    def guard(scheme, host, port_):
        raise HostRefused(f"{host} (127.0.0.1) is a loopback address: events go to public addresses only")

    with pinned_session(guard) as session, pytest.raises(HostRefused, match="loopback"):
        session.post(f"http://somewhere.invalid:{port}/events", data=b"{}", timeout=2)
    assert connections() == 0


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for pinned.invalid (made with the openssl command); returns (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603
        [  # noqa: S607
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=pinned.invalid",
            "-addext", "subjectAltName=DNS:pinned.invalid",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return str(cert), str(key)


def test_tls_still_checks_the_certificate_against_the_host_name(certificate):
    cert, key = certificate
    recorder = Recorder()
    server = serve(recorder.app, ssl_context=(cert, key))
    port = server.server_port

    def guard(scheme, host, port_):
        return ["127.0.0.1"] if host.endswith(".invalid") else None

    try:
        with pinned_session(guard) as session:
            answer = session.post(f"https://pinned.invalid:{port}/events", data=b"{}", timeout=2, verify=cert)
            assert answer.status_code == 200
            # The same address under another name: the certificate does not name it, so TLS refuses.
            with pytest.raises(requests.exceptions.SSLError):
                session.post(f"https://other.invalid:{port}/events", data=b"{}", timeout=2, verify=cert)
    finally:
        server.shutdown()
    assert recorder.hosts == [f"pinned.invalid:{port}"]
