"""No redirects: a Graph base URL that answers 3xx never gets the token forwarded, and the event fails
with a message naming the refused Location's host; the token is nowhere in the database, logs or pages."""

import logging
import threading

import pytest
from flask import Flask, request
from sqlalchemy import select

from delivery.dispatcher import Dispatcher
from delivery.models import FAILED, DeliveryAttempt, OutboxEvent
from extensions import db
from tests.delivery_support import TOKEN, QuickLiveServer, add_events, configure


class Recorder:
    """A loopback server that records every request it gets (the redirect's target)."""

    def __init__(self):
        self.hits: list[dict] = []
        self.lock = threading.Lock()
        self.app = Flask("recorder")

        @self.app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT"])
        @self.app.route("/<path:path>", methods=["GET", "POST", "PUT"])
        def anything(path):
            with self.lock:
                self.hits.append({"method": request.method, "path": path, "body": request.get_data(as_text=True)})
            return {"events_received": 1, "messages": [], "internal": "secret internal answer"}


class Redirector:
    """A Graph 'base URL' that answers every POST with a redirect to the recorder."""

    def __init__(self, status: int, location: str):
        self.bodies: list[str] = []
        self.app = Flask("redirector")

        @self.app.post("/<path:path>")
        def events(path):
            self.bodies.append(request.get_data(as_text=True))
            return "", status, {"Location": location}


@pytest.fixture
def recorder():
    target = Recorder()
    with QuickLiveServer(target.app) as server:
        target.url = server.url
        target.port = server.server.server_port
        yield target


@pytest.mark.parametrize("status", [307, 303, 301, 302, 308])
def test_a_redirect_is_refused_the_target_gets_nothing_and_the_token_stays_hidden(
    app, recorder, status, caplog, client, auth
):
    location = f"{recorder.url}/internal/collect?access_token={TOKEN}&next=/admin"
    redirector = Redirector(status, location)
    caplog.set_level(logging.DEBUG)
    with QuickLiveServer(redirector.app) as server, app.app_context():
        configure(server.url)
        (event_id,) = add_events(1)
        dispatcher = Dispatcher(app, worker="redirects")
        summary = dispatcher.run_once()
        dispatcher.close()

        assert str(summary) == "sent 0, retrying 0, failed 1"
        assert recorder.hits == []  # nothing reached the Location's host
        assert len(redirector.bodies) == 1 and TOKEN in redirector.bodies[0]  # only the first request had it
        row = db.session.get(OutboxEvent, event_id)
        assert row.status == FAILED
        assert f"refused to follow a redirect (HTTP {status}) to 127.0.0.1:{recorder.port}" in row.last_error
        assert "internal/collect" not in row.last_error and "next=" not in row.last_error
        attempt = db.session.scalars(select(DeliveryAttempt)).one()
        assert attempt.outcome == "permanent" and attempt.http_status == status

        stored = [row.last_error, row.response_json, row.payload_json]
        stored += [attempt.request_url, attempt.request_body, attempt.response_body, attempt.error]
        assert all(TOKEN not in (text or "") for text in stored)

    auth.login("superadmin")
    pages = [f"/admin/events/{event_id}", "/admin/events", "/admin/events/export.csv", "/admin/events/export.json"]
    for page in pages:
        body = client.get(page).get_data(as_text=True)
        assert TOKEN not in body, page
    assert "refused to follow a redirect" in client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert TOKEN not in caplog.text


def test_a_redirect_without_a_location_is_refused_too(app):
    redirector = Redirector(302, "")
    with QuickLiveServer(redirector.app) as server, app.app_context():
        configure(server.url)
        (event_id,) = add_events(1)
        dispatcher = Dispatcher(app, worker="redirects")
        assert dispatcher.run_once().failed == 1
        dispatcher.close()
        assert "refused a redirect (HTTP 302) without a Location" in db.session.get(OutboxEvent, event_id).last_error
