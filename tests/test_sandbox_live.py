"""The sandbox's Test events page as a live feed: the polled fragment, the per-minute chart and its CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from extensions import db
from sandbox.activity import received_per_minute
from sandbox.models import ErrorAnswer, ReceivedEvent

NOW = datetime(2026, 11, 29, 12, 0, 30, tzinfo=UTC)


def receive(at: datetime, deduplicated=False, pixel_id="111", value=None):
    event = {"event_name": "Refund", "event_id": f"refund-{at:%H%M%S}"}
    if value is not None:
        event["custom_data"] = {"value": value, "currency": "EUR"}
    db.session.add(
        ReceivedEvent(
            pixel_id=pixel_id,
            received_at=at,
            event_name="Refund",
            event_id=event["event_id"],
            deduplicated=deduplicated,
            fbtrace_id="trace",
            event=event,
        )
    )


def error_answer(at: datetime, pixel_id="111"):
    db.session.add(
        ErrorAnswer(at=at, pixel_id=pixel_id, http_status=503, code=2, reason="injected", fbtrace_id="t", body={})
    )


@pytest.fixture
def traffic(app):
    """Three minutes of traffic before NOW (12:00:30): 11:58 two processed; 11:59 one processed, one
    deduplicated, two error answers; 12:00 one processed on another pixel; and one event 40 minutes ago."""
    with app.app_context():
        receive(datetime(2026, 11, 29, 11, 58, 5, tzinfo=UTC))
        receive(datetime(2026, 11, 29, 11, 58, 59, tzinfo=UTC), value=23.88)
        receive(datetime(2026, 11, 29, 11, 59, 0, tzinfo=UTC))
        receive(datetime(2026, 11, 29, 11, 59, 30, tzinfo=UTC), deduplicated=True)
        error_answer(datetime(2026, 11, 29, 11, 59, 10, tzinfo=UTC))
        error_answer(datetime(2026, 11, 29, 11, 59, 20, tzinfo=UTC))
        receive(datetime(2026, 11, 29, 12, 0, 10, tzinfo=UTC), pixel_id="222")
        receive(NOW - timedelta(minutes=40))
        db.session.commit()


def test_per_minute_counts_processed_deduplicated_and_errors(app, traffic):
    with app.app_context():
        spec = received_per_minute(now=NOW)
    assert len(spec["labels"]) == 30 and spec["labels"][0] == "11:31" and spec["labels"][-1] == "12:00"
    data = {dataset["label"]: dataset["data"][-3:] for dataset in spec["datasets"]}  # 11:58, 11:59, 12:00
    assert data == {"Processed": [2, 1, 1], "Deduplicated": [0, 1, 0], "Error answers": [0, 2, 0]}
    assert sum(spec["datasets"][0]["data"]) == 4  # the event 40 minutes ago is outside the window
    assert spec["stacked"] is True


def test_per_minute_follows_the_pixel_filter(app, traffic):
    with app.app_context():
        spec = received_per_minute(pixel_id="222", now=NOW)
    assert [dataset["data"][-3:] for dataset in spec["datasets"]] == [[0, 0, 1], [0, 0, 0], [0, 0, 0]]


def test_feed_fragment_polls_on_the_first_page_only(app, client, auth, traffic):
    auth.login("tester")
    html = client.get("/sandbox/feed").get_data(as_text=True)
    assert html.lstrip().startswith(
        '<div id="sandbox-feed" data-live hx-get="/sandbox/feed?pixel_id=&amp;test_event_code="'
    )
    assert 'hx-trigger="every 2s, live-refresh"' in html and 'hx-swap="outerHTML"' in html
    assert '<span id="events-total">6 events received</span>' in html
    assert "<html" not in html  # a fragment, not a page
    assert "23.88 EUR" in html  # the value column
    assert 'data-chart-spec="' in html
    archive = client.get("/sandbox/?page=2").get_data(as_text=True)
    assert 'id="sandbox-feed">' in archive and "hx-get" not in archive.split('id="sandbox-feed"')[1][:50]


def test_the_page_includes_the_feed_and_the_chart_library(client, auth, traffic):
    auth.login("tester")
    html = client.get("/sandbox/?pixel_id=222").get_data(as_text=True)
    assert 'hx-get="/sandbox/feed?pixel_id=222&amp;test_event_code="' in html
    assert '<span id="events-total">1 event received matching the filter</span>' in html
    assert "/static/js/charts.js" in html


def test_activity_csv_is_the_charts_data(app, client, auth, traffic):
    auth.login("tester")
    response = client.get("/sandbox/activity.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["minute_utc", "Processed", "Deduplicated", "Error answers"]
    assert len(rows) == 31  # header + 30 minutes


def test_a_poll_after_the_session_ended_reloads_the_page(client):
    response = client.get("/sandbox/feed", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Refresh"] == "true"
    assert client.get("/sandbox/feed").status_code == 302  # a plain request still goes to the login page


def test_feed_needs_the_sandbox_permission(client, auth):
    auth.login("admin")
    assert client.get("/sandbox/feed").status_code == 403
