"""The live sent-events log and event page: polled fragments, page numbers, part of a reference, charts,
the attempt timeline, and Retry now for a waiting event."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy import text as text_sql

from core.dbtypes import utcnow
from delivery import activity, event_log
from delivery.dispatcher import NotWaiting, retry_now
from delivery.models import FAILED, PENDING, SENT, Decision, DeliveryAttempt, OutboxEvent, attempt_event
from extensions import db
from shop.models import Order
from tests.delivery_support import add_events


def rows(app, ids, **values):
    with app.app_context():
        for row in db.session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids))):
            for name, value in values.items():
                setattr(row, name, value)
        db.session.commit()


def text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


# --- the log: live fragment, totals and page numbers, part of a reference ------------------------------


def test_first_page_polls_and_older_pages_stay_still(app, client, auth):
    with app.app_context():
        add_events(3)
    auth.login("tester")
    html = text(client, "/admin/events")
    assert '<div id="log-live" data-live hx-get="/admin/events/live"' in html
    fragment = text(client, "/admin/events/live?status=pending")
    assert fragment.lstrip().startswith('<div id="log-live" data-live hx-get="/admin/events/live?status=pending"')
    assert "<html" not in fragment and fragment.count('<tr data-event-id="') == 3
    older = text(client, "/admin/events/live?before=999999")
    assert 'id="log-live">' in older and "hx-get" not in older[: older.index("</ul>")]


def test_total_and_page_numbers_within_keyset_paging(app, client, auth):
    with app.app_context():
        ids = add_events(60)
    auth.login("tester")
    first = text(client, "/admin/events?per_page=25")
    assert re.search(r'id="events-position">60 events · page 1 of 3<', first)
    older = re.search(r'href="([^"]+)" rel="next">Older', first).group(1).replace("&amp;", "&")
    assert f"before={ids[-25]}" in older and "page=2" in older
    second = text(client, older)
    assert re.search(r'id="events-position">60 events · page 2 of 3<', second)
    assert second.count('<tr data-event-id="') == 25
    newer = re.search(r'href="([^"]+)" rel="prev">', second).group(1).replace("&amp;", "&")
    assert "page=1" in newer
    third = text(client, re.search(r'href="([^"]+)" rel="next">Older', second).group(1).replace("&amp;", "&"))
    assert re.search(r"page 3 of 3<", third) and third.count('<tr data-event-id="') == 10
    assert ">First</a>" in third
    # a page number from a hand-made URL is only a label: it is kept within 1..pages
    assert re.search(r"page 3 of 3<", text(client, f"/admin/events?per_page=25&before={ids[20]}&page={2**70}"))
    assert re.search(r"page 1 of 3<", text(client, f"/admin/events?per_page=25&before={ids[50]}&page=-5"))


def test_total_follows_the_status_filter(app, client, auth):
    with app.app_context():
        ids = add_events(5)
    rows(app, ids[:2], status=SENT)
    auth.login("tester")
    assert re.search(r'id="events-position">2 events · page 1 of 1<', text(client, "/admin/events?status=sent"))
    assert re.search(r'id="events-position">5 events · page 1 of 1<', text(client, "/admin/events"))


def orders_with_references(app, make_order, *references: str) -> list[int]:
    """Place one order per reference and give it that reference; return their ids."""
    ids = [make_order("PS_OS_PAYMENT") for _ in references]
    with app.app_context():
        for order_id, reference in zip(ids, references, strict=True):
            db.session.get(Order, order_id).reference = reference
        db.session.commit()
    return ids


@pytest.mark.parametrize("listed_at_most", [2000, 0])  # the orders' ids listed, or left in a subquery
def test_part_of_a_reference_matches_anywhere_in_it(app, client, auth, make_order, monkeypatch, listed_at_most):
    monkeypatch.setattr(event_log, "ORDER_IDS_LISTED", listed_at_most)
    references = ("ABCDEFGHI", "ABCZZZZZZ", "ABDAAAAAA", "XABCAAAAA", "ABZZZZZZZ")
    order_ids = orders_with_references(app, make_order, *references)
    with app.app_context():
        ids = add_events(6)
    for event_id, order_id, reference in zip(ids, order_ids, references, strict=False):
        rows(app, [event_id], order_id=order_id, order_reference=reference)
    rows(app, [ids[5]], order_reference="TESTEVENT")  # a test event names a reference but no order
    auth.login("tester")

    def listed(query):
        return sorted(re.findall(r'<tr data-event-id="(\d+)"', text(client, f"/admin/events/live?{query}")))

    assert listed("reference=abc") == sorted(str(i) for i in (ids[0], ids[1], ids[3]))  # XABC… too, not ABD…
    assert listed("reference=ABCDEFGHI") == [str(ids[0])]
    assert listed("reference=ABZ") == [str(ids[4])]  # "ABZ" ends before "AB[" ("Z" + 1)
    assert listed("reference=DEFG") == [str(ids[0])]  # from the middle
    assert listed("reference=%20cdef%20") == [str(ids[0])]
    assert listed("reference=ZZZZZZ") == sorted(str(i) for i in (ids[1], ids[4]))  # the end of two
    assert listed("reference=AAAAA") == sorted(str(i) for i in (ids[2], ids[3]))
    assert listed("reference=QQQ") == []
    assert listed("reference=BCDEFGHIJ") == []  # nine letters are a whole reference, not a part
    assert listed("reference=TESTE") == [str(ids[5])]  # an orderless event is found by its start
    # The decisions list and the JSON API use the same match.
    with app.app_context():
        db.session.add(Decision(order_id=order_ids[3], outcome="skipped", reason="state Shipped does not fire"))
        db.session.commit()
    decisions = text(client, "/admin/decisions?reference=bcaa")
    assert "state Shipped does not fire" in decisions
    assert "state Shipped does not fire" not in text(client, "/admin/decisions?reference=bcab")


@pytest.mark.parametrize(
    "reference",
    ["%", "_", "%25", "A%25C", "A_C", "%ED%A0%80", "%F0%9F%98%80", "%00", "A" * 10_000, "[", "%5C", "Ab%C3%9F"],
)
def test_hostile_reference_parts_answer_and_match_nothing(app, client, auth, staff, make_order, reference):
    order_ids = orders_with_references(app, make_order, "ABCDEFGHI")
    with app.app_context():
        ids = add_events(2)
    rows(app, ids, order_id=order_ids[0], order_reference="ABCDEFGHI")
    auth.login("tester")
    # A NUL byte is refused before any view (400). The pages explain the refusal and ignore the filter (as
    # for any refused field); the API, which has no form, matches nothing.
    expected = 400 if reference == "%00" else 200
    for path in ("/admin/events", "/admin/events/live", "/admin/events/charts", "/admin/decisions"):
        response = client.get(f"{path}?reference={reference}")
        assert response.status_code == expected, (path, response.status_code)
        if expected == 200 and path in ("/admin/events", "/admin/decisions"):
            assert "An order reference is up to 9 letters." in response.get_data(as_text=True)
    response = client.get(f"/api/events?order_reference={reference}", headers=staff.headers("tester"))
    assert response.status_code == expected
    if expected == 200:
        assert response.get_json() == []


@pytest.mark.parametrize("reference", ["AB1", "A B", "ABCDEFGHIJ", "%", "_"])
def test_a_reference_that_cannot_be_one_is_refused_with_a_message(app, client, auth, reference):
    with app.app_context():
        add_events(2)
    auth.login("tester")
    html = text(client, f"/admin/events?reference={reference}")
    assert "An order reference is up to 9 letters." in html
    assert html.count('<tr data-event-id="') == 2  # the bad filter is ignored, not half-applied


# --- charts -------------------------------------------------------------------------------------------------


def test_events_by_status_per_hour(app):
    now = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
    with app.app_context():
        ids = add_events(4)
        for row, (hours_ago, status) in zip(
            db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)),
            ((0, SENT), (0, FAILED), (1, SENT), (50, SENT)),
            strict=True,
        ):
            row.created_at, row.status = now - timedelta(hours=hours_ago), status
        db.session.commit()
        spec = activity.events_by_status(event_log.EventFilter(), "hour", now=now)
        daily = activity.events_by_status(event_log.EventFilter(), "day", now=now)
    assert len(ids) == 4
    assert len(spec["labels"]) == 48 and spec["labels"][-1] == "29 Nov 12:00" and spec["labels"][-2] == "29 Nov 11:00"
    data = {dataset["label"]: dataset["data"][-2:] for dataset in spec["datasets"]}
    assert data == {"Sent": [1, 1], "Pending": [0, 0], "Failed": [0, 1]}
    assert sum(sum(dataset["data"]) for dataset in spec["datasets"]) == 3  # 50 hours ago is outside 48 h
    assert len(daily["labels"]) == 30 and daily["labels"][-1] == "29 Nov"
    assert [dataset["data"][-1] for dataset in daily["datasets"]] == [2, 0, 1]


def test_value_by_currency_adds_only_acknowledged_money_of_one_currency(app):
    now = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
    with app.app_context():
        add_events(5)
        add_events(1, test_event_code="TEST1")
        values = (
            ("23.88", "EUR", SENT),
            ("43.68", "EUR", SENT),
            ("67.56", "USD", SENT),
            ("10.00", "EUR", PENDING),
            ("99.00", "EUR", FAILED),
            ("5.00", "EUR", SENT),  # a test event: reports nothing
        )
        for row, (value, currency, status) in zip(
            db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)), values, strict=True
        ):
            row.value, row.currency, row.status, row.created_at = Decimal(value), currency, status, now
        db.session.commit()
        spec = activity.value_by_currency(event_log.EventFilter(), now=now)
    lines = {dataset["label"]: dataset["data"][-1] for dataset in spec["datasets"]}
    assert lines == {"EUR": 67.56, "USD": 67.56}  # 23.88 + 43.68; never EUR + USD


@pytest.fixture
def generated_log(app, make_order):
    """Nine events around 29 Nov 2026 12:30 UTC, of two orders, four destinations, two currencies, one test."""
    order_ids = orders_with_references(app, make_order, "QWERTYUIO", "ASDFGHJKL")
    a, b = order_ids
    events = (
        # hours before 12:30, status, destination, currency, value, order, test event code
        (0, SENT, "meta_capi", "EUR", "23.88", a, None),
        (0, SENT, "ga4", "EUR", "43.68", a, None),
        (0, SENT, "webhook", "EUR", None, a, None),
        (1, FAILED, "meta_capi", "EUR", "67.56", b, None),
        (1, PENDING, "google_ads", "USD", "10.00", b, None),
        (25, SENT, "meta_capi", "USD", "67.56", b, None),
        (26, SENT, "meta_capi", "EUR", "5.00", None, "TEST9"),
        (50, SENT, "meta_capi", "EUR", "12.30", a, None),
        (24 * 40, SENT, "meta_capi", "EUR", "99.99", a, None),
    )
    with app.app_context():
        ids = add_events(len(events))
        references = {a: "QWERTYUIO", b: "ASDFGHJKL", None: "TESTEVENT"}
        for event_id, (hours, status, destination, currency, value, order_id, code) in zip(ids, events, strict=True):
            row = db.session.get(OutboxEvent, event_id)
            row.created_at = CHART_NOW - timedelta(hours=hours)
            row.status, row.destination, row.currency, row.test_event_code = status, destination, currency, code
            row.value = Decimal(value) if value else None
            row.order_id, row.order_reference = order_id, references[order_id]
        db.session.commit()
    return {"a": a, "b": b}


CHART_NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)


def nonzero(spec: dict) -> dict:
    """Return a chart's data as {label: {dataset: value}}, leaving zeros out."""
    shown = {}
    for dataset in spec["datasets"]:
        for label, value in zip(spec["labels"], dataset["data"], strict=True):
            if value:
                shown.setdefault(label, {})[dataset["label"]] = value
    return shown


def charts(app, **filters) -> tuple[dict, dict, dict]:
    with app.app_context():
        chosen = event_log.EventFilter(**filters)
        return (
            nonzero(activity.events_by_status(chosen, "hour", now=CHART_NOW)),
            nonzero(activity.events_by_status(chosen, "day", now=CHART_NOW)),
            nonzero(activity.value_by_currency(chosen, now=CHART_NOW)),
        )


def test_every_filter_of_the_log_applies_to_its_charts(app, generated_log):
    b = generated_log["b"]
    hours, days, value = charts(app)
    assert hours == {
        "29 Nov 12:00": {"Sent": 3},
        "29 Nov 11:00": {"Pending": 1, "Failed": 1},
        "28 Nov 11:00": {"Sent": 1},
        "28 Nov 10:00": {"Sent": 1},  # a test event is an event sent (it reports no value)
    }  # 50 hours ago is past the 48 hours; 40 days ago past everything
    assert days == {"29 Nov": {"Sent": 3, "Pending": 1, "Failed": 1}, "28 Nov": {"Sent": 2}, "27 Nov": {"Sent": 1}}
    # 23.88 + 43.68 = 67.56 EUR today; no webhook (no value), no failed, pending or test event, no USD + EUR
    assert value == {"29 Nov": {"EUR": 67.56}, "28 Nov": {"USD": 67.56}, "27 Nov": {"EUR": 12.3}}

    hours, days, value = charts(app, destination="meta_capi")
    assert hours == {
        "29 Nov 12:00": {"Sent": 1},
        "29 Nov 11:00": {"Failed": 1},
        "28 Nov 11:00": {"Sent": 1},
        "28 Nov 10:00": {"Sent": 1},
    }
    assert value == {"29 Nov": {"EUR": 23.88}, "28 Nov": {"USD": 67.56}, "27 Nov": {"EUR": 12.3}}

    _hours, days, value = charts(app, status=SENT)
    assert days == {"29 Nov": {"Sent": 3}, "28 Nov": {"Sent": 2}, "27 Nov": {"Sent": 1}}
    _hours, days, _value = charts(app, status=PENDING)
    assert days == {"29 Nov": {"Pending": 1}}

    _hours, days, value = charts(app, order_id=b)
    assert days == {"29 Nov": {"Pending": 1, "Failed": 1}, "28 Nov": {"Sent": 1}}
    assert value == {"28 Nov": {"USD": 67.56}}

    for part in ("WERTY", "qwe", "QWERTYUIO"):  # the middle, the start (any case), the whole reference
        _hours, days, value = charts(app, order_reference=part)
        assert days == {"29 Nov": {"Sent": 3}, "27 Nov": {"Sent": 1}}, part
        assert value == {"29 Nov": {"EUR": 67.56}, "27 Nov": {"EUR": 12.3}}, part
    assert charts(app, order_reference="ZZZ") == ({}, {}, {})
    assert charts(app, order_reference="50%") == ({}, {}, {})

    _hours, days, value = charts(app, date_from=date(2026, 11, 28), date_to=date(2026, 11, 28))
    assert days == {"28 Nov": {"Sent": 2}}
    assert value == {"28 Nov": {"USD": 67.56}}

    _hours, days, value = charts(app, test_event_code="TEST9")
    assert days == {"28 Nov": {"Sent": 1}} and value == {}  # a test event reports nothing

    _hours, days, value = charts(app, destination="meta_capi", status=SENT, date_from=date(2026, 11, 28))
    assert days == {"29 Nov": {"Sent": 1}, "28 Nov": {"Sent": 2}}
    assert value == {"29 Nov": {"EUR": 23.88}, "28 Nov": {"USD": 67.56}}


def test_the_charts_read_their_index_alone(app):
    """The charts scan ix_outbox_activity and never the wide rows (SQLite's plan says COVERING INDEX)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
        since = CHART_NOW - timedelta(days=29)
        for filters in (
            event_log.EventFilter(),
            event_log.EventFilter(destination="ga4", status=SENT, date_from=date(2026, 11, 1)),
            event_log.EventFilter(test_event_code="TEST9"),
        ):
            for query in (activity.status_query(filters, "day", since), activity.value_query(filters, since)):
                sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
                plan = " ".join(row[-1] for row in db.session.execute(text_sql(f"EXPLAIN QUERY PLAN {sql}")))
                assert "COVERING INDEX ix_outbox_activity" in plan, (filters, plan)


def test_chart_fragment_and_csv(app, client, auth):
    with app.app_context():
        add_events(2)
    auth.login("tester")
    fragment = text(client, "/admin/events/charts?chart=day")
    assert fragment.lstrip().startswith("{#") is False and 'id="log-charts"' in fragment
    assert 'hx-get="/admin/events/charts?chart=day"' in fragment and 'hx-trigger="every 30s, live-refresh"' in fragment
    assert fragment.count("data-chart-spec=") == 2
    response = client.get("/admin/events/activity.csv?kind=status&chart=hour")
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0] == ["hour (UTC)", "Sent", "Pending", "Failed"] and len(table) == 49
    assert table[-1][2] == "2"  # the two events are pending, this hour
    value_table = list(
        csv.reader(io.StringIO(client.get("/admin/events/activity.csv?kind=value").get_data(as_text=True)))
    )
    assert value_table[0] == ["day (UTC)"] and len(value_table) == 31  # nothing acknowledged yet: no currency
    assert "chart=banana" not in text(client, "/admin/events?chart=banana")  # an unknown unit falls back to hours


# --- the event page -------------------------------------------------------------------------------------------


def attempt(app, event_id: int, outcome: str, duration_ms: int, at: datetime) -> None:
    with app.app_context():
        row = DeliveryAttempt(request_url="https://graph.test/x", outcome=outcome, duration_ms=duration_ms, at=at)
        db.session.add(row)
        db.session.flush()
        db.session.execute(attempt_event.insert().values(attempt_id=row.id, outbox_event_id=event_id))
        db.session.commit()


def test_attempt_timeline(app):
    with app.app_context():
        (event_id,) = add_events(1)
    start = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    attempt(app, event_id, "transient", 510, start)
    attempt(app, event_id, "transient", 1500, start + timedelta(seconds=2))
    attempt(app, event_id, "sent", 120, start + timedelta(seconds=7))
    with app.app_context():
        spec = activity.attempt_timeline(db.session.get(OutboxEvent, event_id))
    assert spec["labels"] == ["#1 12:00:00", "#2 12:00:02", "#3 12:00:07"]
    assert [(d["label"], d["data"]) for d in spec["datasets"]] == [
        ("transient", [510, 1500, None]),
        ("sent", [None, None, 120]),
    ]


def test_pending_event_page_polls_counts_down_and_offers_retry_now_to_a_merchant(app, client, auth):
    with app.app_context():
        (event_id,) = add_events(1)
    next_try = utcnow() + timedelta(minutes=5)
    rows(app, [event_id], attempts=2, next_attempt_at=next_try, last_error="attempt 2: HTTP 503")
    attempt(app, event_id, "transient", 30, utcnow())
    auth.login("merchant")
    html = text(client, f"/admin/events/{event_id}")
    assert f'<div id="event-live" data-live hx-get="/admin/events/{event_id}/live"' in html
    assert f'data-countdown="{next_try.isoformat()}"' in html
    assert 'id="retry-now-form"' in html and ">Retry now</button>" in html
    assert 'id="attempt-timeline-canvas"' in html
    fragment = text(client, f"/admin/events/{event_id}/live")
    assert fragment.lstrip().startswith('<div id="event-live" data-live') and "<html" not in fragment
    assert re.search(r'id="attempt-count">2<', fragment)
    auth.logout()
    auth.login("tester")
    assert "retry-now-form" not in text(client, f"/admin/events/{event_id}")  # a tester only reads


def test_a_sent_event_page_stops_polling(app, client, auth):
    with app.app_context():
        (event_id,) = add_events(1)
    rows(app, [event_id], status=SENT, sent_at=utcnow(), attempts=1)
    auth.login("merchant")
    fragment = text(client, f"/admin/events/{event_id}/live")
    assert fragment.lstrip().startswith('<div id="event-live">') and "hx-get" not in fragment
    assert "retry-now-form" not in fragment


def test_retry_now_makes_a_waiting_event_due_at_once(app, client, auth):
    with app.app_context():
        (event_id,) = add_events(1)
    later = utcnow() + timedelta(minutes=30)
    rows(app, [event_id], attempts=3, next_attempt_at=later)
    auth.login("merchant")
    before = utcnow()
    response = client.post(f"/admin/events/{event_id}/retry-now", follow_redirects=True)
    assert response.status_code == 200 and "will be tried now" in response.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(OutboxEvent, event_id)
        assert before <= row.next_attempt_at <= utcnow() and row.attempts == 3 and row.status == PENDING


@pytest.mark.parametrize("status", [SENT, FAILED])
def test_retry_now_leaves_a_sent_or_failed_event_alone(app, client, auth, status):
    with app.app_context():
        (event_id,) = add_events(1)
    long_ago = utcnow() - timedelta(days=1)
    rows(app, [event_id], status=status, next_attempt_at=long_ago)
    auth.login("merchant")
    html = client.post(f"/admin/events/{event_id}/retry-now", follow_redirects=True).get_data(as_text=True)
    assert "only a pending event waits for a next try" in html
    with app.app_context():
        row = db.session.get(OutboxEvent, event_id)
        assert row.status == status and row.next_attempt_at == long_ago


def test_retry_now_does_not_touch_an_event_in_flight(app):
    with app.app_context():
        (event_id,) = add_events(1)
        row = db.session.get(OutboxEvent, event_id)
        later = utcnow() + timedelta(minutes=5)
        row.next_attempt_at, row.claimed_by, row.claimed_until = later, "worker-1", utcnow() + timedelta(seconds=30)
        db.session.commit()
        with pytest.raises(NotWaiting, match="being sent right now"):
            retry_now(row)
        db.session.rollback()
        assert db.session.get(OutboxEvent, event_id).next_attempt_at == later


def test_retry_now_needs_the_merchant_role(app, client, auth):
    with app.app_context():
        (event_id,) = add_events(1)
    auth.login("tester")
    assert client.post(f"/admin/events/{event_id}/retry-now").status_code == 403
    auth.logout()
    auth.login("merchant")
    assert client.post("/admin/events/987654/retry-now").status_code == 404
