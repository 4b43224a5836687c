"""The Meta sandbox over HTTP: body forms, Meta's error answers, dedup, faults, JSON API, page, access."""

import hashlib
import json
import logging
import re
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from app import DEMO_ACCESS_TOKEN, DEMO_PIXEL_ID, create_app
from core.dbtypes import utcnow
from extensions import db
from sandbox.models import ErrorAnswer, ReceivedEvent
from sandbox.versions import available_versions
from tests.conftest import GRAPH_VERSION, PASSWORD, Staff, wait_for

OTHER_PIXEL, OTHER_TOKEN = "9876543210987654", "EAABotherPixelToken000000000000000000000000000000000000Other1"
GRAPH = f"/sandbox/graph/{GRAPH_VERSION}/{DEMO_PIXEL_ID}/events"


@pytest.fixture
def app_config(app_config):
    """Two pixels, so a token of one pixel can be tried on the other."""
    return {**app_config, "SANDBOX_PIXELS": {DEMO_PIXEL_ID: DEMO_ACCESS_TOKEN, OTHER_PIXEL: OTHER_TOKEN}}


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def refund(event_id: str = "refund-7-1", **changes) -> dict:
    """A valid server-side Refund event, as Pixel Plus sends it."""
    event = {
        "event_name": "Refund",
        "event_time": int(time.time()) - 5,
        "event_id": event_id,
        "action_source": "system_generated",
        "user_data": {"em": [sha("jeanne.martin@example.fr")], "external_id": [sha("7")]},
        "custom_data": {"value": 23.88, "currency": "EUR", "content_type": "product", "order_id": "7"},
    }
    event.update(changes)
    return event


def send(client, events, token=DEMO_ACCESS_TOKEN, url=GRAPH, **params):
    """POST a JSON body the way a hand-written client does."""
    return client.post(url, json={"data": events, "access_token": token, **params})


def meta_error(response, status=400) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["fbtrace_id"] and set(error) >= {"message", "type", "code", "fbtrace_id"}
    return error


def stored(app, **filters) -> list[ReceivedEvent]:
    with app.app_context():
        return db.session.scalars(select(ReceivedEvent).filter_by(**filters).order_by(ReceivedEvent.id)).all()


# --- accepted requests ---------------------------------------------------------------------------


def test_a_json_body_is_accepted(client, app):
    response = send(client, [refund()], test_event_code="TEST123")
    assert response.status_code == 200
    body = response.get_json()
    assert body["events_received"] == 1 and body["messages"] == [] and len(body["fbtrace_id"]) == 11
    assert response.headers["x-fb-trace-id"] == body["fbtrace_id"]
    [row] = stored(app)
    assert (row.pixel_id, row.test_event_code, row.event_name, row.deduplicated) == (
        DEMO_PIXEL_ID,
        "TEST123",
        "Refund",
        False,
    )
    assert row.event == refund() | {"event_time": row.event["event_time"]}


def test_a_form_body_with_data_as_json_strings_is_accepted(client, app):
    """The official SDK's shape: form fields, data = JSON array of JSON-encoded strings, token in the query."""
    form = {"data": json.dumps([json.dumps(refund("a")), json.dumps(refund("b"))]), "test_event_code": "T2"}
    response = client.post(f"{GRAPH}?access_token={DEMO_ACCESS_TOKEN}", data=form)
    assert response.status_code == 200 and response.get_json()["events_received"] == 2
    assert [row.event_id for row in stored(app, test_event_code="T2")] == ["a", "b"]


def test_a_multipart_body_is_accepted(client, app):
    form = {"data": json.dumps([refund("m")]), "access_token": DEMO_ACCESS_TOKEN}
    response = client.post(GRAPH, data=form, content_type="multipart/form-data")
    assert response.status_code == 200 and response.get_json()["events_received"] == 1
    assert stored(app)[0].event_id == "m"


# --- Meta's error answers ---------------------------------------------------------------------------


def test_an_unknown_token_is_refused_with_190(client, app):
    error = meta_error(send(client, [refund()], token="EAABwrong"))
    assert (error["code"], error["type"]) == (190, "OAuthException")
    assert error["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert stored(app) == []


def test_a_missing_token_is_refused(client):
    error = meta_error(client.post(GRAPH, json={"data": [refund()]}))
    assert error["code"] == 104 and error["message"] == "An access token is required to request this resource."


def test_an_unknown_pixel_is_refused_with_100_33(client):
    error = meta_error(send(client, [refund()], url=f"/sandbox/graph/{GRAPH_VERSION}/1111/events"))
    assert (error["code"], error["error_subcode"], error["type"]) == (100, 33, "GraphMethodException")
    assert error["message"].startswith(
        "Unsupported post request. Object with ID '1111' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation."
    )


def test_another_pixels_token_may_not_post_to_this_pixel(client):
    error = meta_error(send(client, [refund()], token=OTHER_TOKEN))
    assert (error["code"], error["error_subcode"]) == (100, 33)


def test_an_expired_version_is_served_by_the_oldest_available_with_a_warning(client, app):
    # v20.0 expired on 2026-09-24 (Meta's changelog); calls to it are auto-upgraded, not refused.
    oldest = available_versions(utcnow().date())[0]
    response = send(client, [refund("old-1")], url=f"/sandbox/graph/v20.0/{DEMO_PIXEL_ID}/events")
    assert response.status_code == 200 and response.get_json()["events_received"] == 1
    assert response.headers["facebook-api-version"] == oldest
    assert response.headers["X-Ad-Api-Version-Warning"] == (
        f"The call has been auto-upgraded to {oldest} as v20.0 is deprecated."
    )
    assert len(stored(app, event_id="old-1")) == 1


def test_a_current_version_answers_without_a_warning(client):
    current = available_versions(utcnow().date())[-1]
    response = send(client, [refund()], url=f"/sandbox/graph/{current}/{DEMO_PIXEL_ID}/events")
    assert response.status_code == 200 and response.headers["facebook-api-version"] == current
    assert "X-Ad-Api-Version-Warning" not in response.headers


def test_an_expired_version_still_gets_metas_errors(client):
    response = send(client, [refund()], token="EAABwrong", url=f"/sandbox/graph/v2.0/{DEMO_PIXEL_ID}/events")
    assert meta_error(response)["code"] == 190 and "X-Ad-Api-Version-Warning" in response.headers


@pytest.mark.parametrize("version", ["v99.0", "v26.5", "v27", "latest"])
def test_an_unknown_version_is_an_unknown_path(client, version):
    error = meta_error(send(client, [refund()], url=f"/sandbox/graph/{version}/{DEMO_PIXEL_ID}/events"))
    assert error["code"] == 2500 and error["message"] == f"Unknown path components: /{DEMO_PIXEL_ID}/events"


def test_other_paths_and_methods_answer_in_metas_shape(client):
    error = meta_error(client.get(f"/sandbox/graph/{GRAPH_VERSION}/me/feed"))
    assert error["code"] == 2500 and error["message"] == "Unknown path components: /me/feed"
    error = meta_error(client.get(GRAPH))
    assert (error["code"], error["error_subcode"]) == (100, 33) and error["message"].startswith("Unsupported get")


def test_more_than_a_thousand_events_are_refused(client, app):
    error = meta_error(send(client, [refund(f"e{i}") for i in range(1001)]))
    assert error["code"] == 100 and error["error_user_title"] == "Too Many Events"
    assert stored(app) == []


INVALID = [
    pytest.param(
        lambda e: e.pop("user_data"), 2804019, "The parameter $['data'][0]['user_data'] is required", id="missing"
    ),
    pytest.param(
        lambda e: e.update(value=5), 2804019, 'Unexpected key "value" on param "$[\'data\'][0]".', id="unexpected"
    ),
    pytest.param(
        lambda e: e["user_data"].update(email="x"),
        2804019,
        "Unexpected key \"email\" on param \"$['data'][0]['user_data']\".",
        id="unexpected-user-data",
    ),
    pytest.param(
        lambda e: e.update(action_source="backoffice"), 2804019, "$['data'][0]['action_source']", id="action-source"
    ),
    pytest.param(
        lambda e: e.update(action_source="website", event_source_url=None) or e.pop("event_source_url"),
        2804019,
        "The parameter $['data'][0]['event_source_url'] is required for website events",
        id="website-url",
    ),
    pytest.param(
        lambda e: e.update(action_source="website", event_source_url="https://shop.test/"),
        2804019,
        "The parameter $['data'][0]['user_data']['client_user_agent'] is required for website events",
        id="website-user-agent",
    ),
    pytest.param(
        lambda e: e.update(event_time=int(time.time()) - 8 * 86400),
        2804003,
        "The timestamp for this event is too far in the past.",
        id="too-old",
    ),
    pytest.param(lambda e: e.update(event_time=int(time.time()) + 3600), 2804004, "is in the future", id="future"),
    pytest.param(
        lambda e: e["user_data"].update(em=["jeanne.martin@example.fr"]),
        2804016,
        "The parameter $['data'][0]['user_data']['em'] must be hashed",
        id="unhashed",
    ),
    pytest.param(
        lambda e: e.update(user_data={"ct": [sha("paris")], "country": [sha("fr")]}),
        2804050,
        "too broad",
        id="broad",
    ),
    pytest.param(lambda e: e.update(event_name="R" * 51), 2804019, "at most 50 characters", id="name-length"),
    pytest.param(
        lambda e: e["custom_data"].update(value=-23.88),
        2804019,
        "$['data'][0]['custom_data']['value'] is invalid: negative values are not accepted",
        id="negative-value",
    ),
    pytest.param(
        lambda e: e["custom_data"].update(currency="EURO"),
        2804019,
        "'EURO' is not an ISO 4217 currency code",
        id="currency",
    ),
]


@pytest.mark.parametrize("spoil, subcode, message", INVALID)
def test_an_invalid_event_gets_metas_code_subcode_and_message(client, app, spoil, subcode, message):
    bad = refund("bad")
    spoil(bad)
    error = meta_error(send(client, [bad, refund("good")]))
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (100, subcode, False)
    assert error["message"] == "Invalid parameter" and error["type"] == "OAuthException"
    assert message in error["error_user_msg"]
    assert stored(app) == [], "one invalid event rejects the whole request"


def test_the_path_names_the_invalid_events_index(client):
    error = meta_error(send(client, [refund("ok"), refund("ok2"), refund("bad", event_time="soon")]))
    assert "$['data'][2]['event_time']" in error["error_user_msg"]


@pytest.fixture
def negative_allowed(app):
    app.config["SANDBOX_REJECT_NEGATIVE_VALUE"] = False


def test_negative_values_can_be_allowed_by_configuration(client, app, negative_allowed):
    event = refund()
    event["custom_data"]["value"] = -5
    assert send(client, [event]).status_code == 200


def test_error_answers_are_remembered_with_their_reason(client, app, api):
    send(client, [refund()], token="EAABwrong", test_event_code="T9")
    old = refund(event_time=int(time.time()) - 8 * 86400)
    send(client, [old])
    answers = api.get("/sandbox/api/errors", role="tester").get_json()
    assert [(a["code"], a["error_subcode"]) for a in answers] == [(100, 2804003), (190, None)]
    assert answers[1]["reason"] == "invalid access token" and answers[1]["test_event_code"] == "T9"
    assert answers[0]["reason"].startswith("The timestamp for this event is too far in the past")
    assert DEMO_ACCESS_TOKEN not in json.dumps(answers)


# --- dedup --------------------------------------------------------------------------------------------


def test_a_repeated_event_is_received_and_marked_deduplicated(client, app):
    assert send(client, [refund("r1")]).get_json()["events_received"] == 1
    assert send(client, [refund("r1")]).get_json()["events_received"] == 1
    assert [row.deduplicated for row in stored(app, event_id="r1")] == [False, True]


def test_dedup_is_per_pixel_and_event_name(client, app):
    send(client, [refund("r2")])
    send(client, [refund("r2", event_name="Purchase")])
    send(client, [refund("r2")], token=OTHER_TOKEN, url=f"/sandbox/graph/{GRAPH_VERSION}/{OTHER_PIXEL}/events")
    assert [row.deduplicated for row in stored(app, event_id="r2")] == [False, False, False]


def test_duplicates_inside_one_request_count(client, app):
    response = send(client, [refund("r3"), refund("r3"), refund(None)])
    assert response.get_json()["events_received"] == 3
    assert [row.deduplicated for row in stored(app)] == [False, True, False]


def test_events_without_event_id_are_never_deduplicated(client, app):
    send(client, [refund(None)])
    send(client, [refund(None)])
    assert [row.deduplicated for row in stored(app)] == [False, False]


def test_dedup_window_is_48_hours(client, app):
    send(client, [refund("r4")])
    with app.app_context():
        db.session.execute(update(ReceivedEvent).values(received_at=utcnow() - timedelta(hours=49)))
        db.session.commit()
    send(client, [refund("r4")])
    assert [row.deduplicated for row in stored(app, event_id="r4")] == [False, False]


# --- faults -------------------------------------------------------------------------------------------


def test_a_transient_fault_fails_the_next_request_only(client, api):
    assert api.put("/sandbox/api/faults", {"error": "transient", "count": 1}, role="tester").status_code == 200
    error = meta_error(send(client, [refund()]), status=500)
    assert (error["code"], error["is_transient"]) == (2, True)
    assert send(client, [refund()]).status_code == 200
    assert api.get("/sandbox/api/faults", role="tester").get_json() == {
        "error": "transient",
        "error_rate": 1.0,
        "count": 0,
    }


def test_a_server_fault_answers_5xx_until_cleared(client, api):
    api.put("/sandbox/api/faults", {"error": "server", "error_rate": 1.0}, role="tester")
    for _ in range(2):
        assert meta_error(send(client, [refund()]), status=503)["code"] == 1
    assert api.put("/sandbox/api/faults", {}, role="tester").get_json() == {}
    assert send(client, [refund()]).status_code == 200


def test_a_token_fault_answers_190(client, api, app):
    api.put("/sandbox/api/faults", {"error": "token", "count": 1}, role="tester")
    error = meta_error(send(client, [refund()]))
    assert (error["code"], error["error_subcode"]) == (190, 463)
    with app.app_context():
        answer = db.session.scalar(select(ErrorAnswer))
        assert answer.injected and answer.reason == "access token expired (injected)"


def test_an_error_rate_of_zero_never_fails(client, api):
    api.put("/sandbox/api/faults", {"error": "transient", "error_rate": 0}, role="tester")
    assert all(send(client, [refund(f"z{i}")]).status_code == 200 for i in range(3))


def test_latency_is_added_and_reported(client, api):
    assert api.put("/sandbox/api/faults", {"latency_ms": 20}, role="tester").get_json() == {"latency_ms": 20}
    assert send(client, [refund()]).status_code == 200


def test_a_timeout_fault_outlasts_the_client_but_meta_still_receives(app, api, live):
    """The client gives up; the events still arrive, so a retry with the same event_id is deduplicated."""
    api.put("/sandbox/api/faults", {"error": "timeout", "hang_ms": 600, "count": 1}, role="tester")
    body = {"data": [refund("t1")], "access_token": DEMO_ACCESS_TOKEN}
    with pytest.raises(requests.Timeout):
        requests.post(live.url + GRAPH, json=body, timeout=0.2)
    retry = requests.post(live.url + GRAPH, json=body, timeout=5)
    assert retry.status_code == 200
    wait_for(lambda: len(stored(app, event_id="t1")) == 2, timeout=5, message="the hung request to finish")
    assert sorted(row.deduplicated for row in stored(app, event_id="t1")) == [False, True]


@pytest.mark.parametrize(
    "kind, code, message, header",
    [
        ("app_limit", 4, "(#4) Application request limit reached", "X-App-Usage"),
        ("user_limit", 17, "(#17) User request limit reached", "X-App-Usage"),
        (
            "business_limit",
            80004,
            "(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
            "X-Business-Use-Case-Usage",
        ),
        ("rate_limit", 613, "(#613) Calls to this api have exceeded the rate limit.", "X-App-Usage"),
    ],
)
def test_a_throttling_fault_answers_metas_code_transient_with_its_usage_header(
    client, api, app, kind, code, message, header
):
    assert api.put("/sandbox/api/faults", {"error": kind, "count": 1}, role="tester").status_code == 200
    response = send(client, [refund("throttled-1")])
    error = meta_error(response)
    assert (error["code"], error["message"], error["type"], error["is_transient"]) == (
        code,
        message,
        "OAuthException",
        True,
    )
    usage = json.loads(response.headers[header])
    if header == "X-App-Usage":
        assert usage["call_count"] == 100 and {"total_cputime", "total_time"} <= set(usage)
    else:
        (rows,) = usage.values()
        assert rows[0]["call_count"] == 100 and rows[0]["estimated_time_to_regain_access"] > 0
    assert stored(app, event_id="throttled-1") == [], "a throttled request records nothing"
    assert send(client, [refund("throttled-1")]).status_code == 200, "count 1: the next request goes through"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"error": "boom"}, "error"),
        ({"error": "transient", "error_rate": 1.5}, "error_rate"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": "fast"}, "latency_ms"),
        ({"error": "server", "count": 0}, "count"),
        ({"error": "server", "hang_ms": 100}, "hang_ms"),
        ({"error_rate": 0.5}, "error_rate"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_faults_are_refused_with_per_field_messages(api, body, field):
    response = api.put("/sandbox/api/faults", body, role="tester")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert api.get("/sandbox/api/faults", role="tester").get_json() == {}


def test_the_page_lists_the_sandboxs_own_answers_and_the_throttling_faults(client, auth):
    auth.login("tester")
    html = client.get("/sandbox/").get_data(as_text=True)
    assert 'id="own-choices"' in html and "2804004" in html and "X-Ad-Api-Version-Warning" in html
    assert "Business use-case limit (80004)" in html and "API rate limit (613)" in html


def test_faults_need_a_json_body(api, client, staff):
    response = client.put("/sandbox/api/faults", data="x", headers=staff.headers("tester"))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed"


# --- JSON API -----------------------------------------------------------------------------------------


def test_received_lists_everything_oldest_first_with_filters(client, api):
    send(client, [refund("1")], test_event_code="A")
    send(client, [refund("2")], test_event_code="B")
    send(client, [refund("3")], token=OTHER_TOKEN, url=f"/sandbox/graph/{GRAPH_VERSION}/{OTHER_PIXEL}/events")
    every = api.get("/sandbox/api/received", role="tester").get_json()
    assert [item["event"]["event_id"] for item in every] == ["1", "2", "3"]
    assert set(every[0]) >= {"pixel_id", "received_at", "test_event_code", "deduplicated", "event"}
    assert every[0]["received_at"].endswith("+00:00")
    by_pixel = api.get(f"/sandbox/api/received?pixel_id={DEMO_PIXEL_ID}", role="tester").get_json()
    assert [item["event"]["event_id"] for item in by_pixel] == ["1", "2"]
    by_code = api.get("/sandbox/api/received?test_event_code=B", role="tester").get_json()
    assert [item["event"]["event_id"] for item in by_code] == ["2"]
    page = api.get(f"/sandbox/api/received?after={every[0]['id']}&limit=1", role="tester").get_json()
    assert [item["event"]["event_id"] for item in page] == ["2"]


def test_delete_received_forgets_everything(client, api, app):
    send(client, [refund()])
    send(client, [refund()], token="EAABwrong")
    assert api.delete("/sandbox/api/received", role="tester").status_code == 403  # testers only watch
    assert len(stored(app)) == 1
    response = api.delete("/sandbox/api/received", role="merchant")
    assert response.get_json() == {"deleted_events": 1, "deleted_errors": 1}
    assert api.get("/sandbox/api/received", role="tester").get_json() == []


def test_the_api_needs_a_key_with_the_sandbox_permission(client, api):
    assert client.get("/sandbox/api/received").status_code == 401
    forbidden = api.get("/sandbox/api/received", role="admin")
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"
    assert api.put("/sandbox/api/faults", {}, role="admin").status_code == 403
    for role in ("tester", "merchant", "superadmin"):
        assert api.get("/sandbox/api/received", role=role).status_code == 200


def test_unknown_api_paths_answer_json(api):
    response = api.get("/sandbox/api/nothing", role="tester")
    assert response.status_code == 404 and "error" in response.get_json()


# --- the Test events page -----------------------------------------------------------------------------


def test_the_page_needs_a_login_and_the_sandbox_permission(client, auth):
    response = client.get("/sandbox/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    auth.login("admin")
    assert client.get("/sandbox/").status_code == 403


def test_the_page_lists_events_newest_first_with_badges_and_errors(client, auth):
    send(client, [refund("first")], test_event_code="TEST1")
    send(client, [refund("second", event_name="Purchase")], test_event_code="TEST1")
    send(client, [refund("first")], test_event_code="TEST1")
    send(client, [refund(event_time=1)])
    auth.login("tester")
    page = client.get("/sandbox/").get_data(as_text=True)
    newest, oldest = page.index("<code>first</code>"), page.rindex("<code>first</code>")
    assert newest < page.index("<code>second</code>") < oldest, "newest first"
    assert "Deduplicated" in page and "3 events received" in page
    assert "2804003" in page and "too far in the past" in page
    assert "Fault injection" in page and 'name="csrf_token"' in page


def test_the_page_filters_by_pixel_and_test_event_code(client, auth):
    send(client, [refund("in")], test_event_code="KEEP")
    send(client, [refund("out")], test_event_code="OTHER")
    auth.login("tester")
    page = client.get(f"/sandbox/?pixel_id={DEMO_PIXEL_ID}&test_event_code=KEEP").get_data(as_text=True)
    assert "<code>in</code>" in page and "<code>out</code>" not in page and "matching the filter" in page


def test_the_page_paginates(client, auth):
    send(client, [refund(f"p{i}") for i in range(60)])
    auth.login("tester")
    first = client.get("/sandbox/").get_data(as_text=True)
    second = client.get("/sandbox/?page=2").get_data(as_text=True)
    assert "<code>p59</code>" in first and "<code>p0</code>" not in first
    assert "<code>p0</code>" in second and "<code>p59</code>" not in second


def test_the_event_page_labels_hashed_fields(client, auth, app):
    event = refund("d1")
    event["user_data"]["client_ip_address"] = "203.0.113.7"
    send(client, [event])
    auth.login("tester")
    [row] = stored(app)
    page = client.get(f"/sandbox/events/{row.id}").get_data(as_text=True)
    assert "user_data.em" in page and ">hashed<" in page and ">raw<" in page
    assert "custom_data.value" in page and "23.88" in page
    assert client.get("/sandbox/events/999999").status_code == 404


def test_the_page_sets_and_clears_faults(client, auth, api):
    auth.login("tester")
    form = {"latency_ms": "0", "error": "transient", "error_rate": "1", "count": "2"}
    response = client.post("/sandbox/faults", data=form)
    assert response.status_code == 302
    assert api.get("/sandbox/api/faults", role="tester").get_json() == {
        "error": "transient",
        "error_rate": 1.0,
        "count": 2,
    }
    assert "transient error on 100.0% of requests, 2 left" in client.get("/sandbox/").get_data(as_text=True)
    client.post("/sandbox/faults/clear")
    assert api.get("/sandbox/api/faults", role="tester").get_json() == {}


def test_the_page_refuses_invalid_faults_with_a_message(client, auth, api):
    auth.login("tester")
    client.post("/sandbox/faults", data={"latency_ms": "-5", "error": "", "error_rate": "1"})
    page = client.get("/sandbox/").get_data(as_text=True)
    assert "Added latency (ms): From 0 to 30000 ms." in page
    assert api.get("/sandbox/api/faults", role="tester").get_json() == {}


def test_the_page_forgets_received_events(client, auth, app):
    send(client, [refund()])
    auth.login("tester")
    assert "Forget received events" not in client.get("/sandbox/").get_data(as_text=True)
    assert client.post("/sandbox/received/clear").status_code == 403 and len(stored(app)) == 1
    auth.login("merchant")
    client.post("/sandbox/received/clear")
    assert stored(app) == []
    assert "Forgot 1 received events" in client.get("/sandbox/").get_data(as_text=True)


def test_csrf_guards_the_page_but_not_the_graph_endpoint_or_the_api(app_config):
    """Graph calls come from servers and API calls carry a key: both are exempt; page forms are not."""
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    staff = Staff(app)
    client = app.test_client()
    assert send(client, [refund()]).status_code == 200
    put = client.put("/sandbox/api/faults", json={"latency_ms": 1}, headers=staff.headers("tester"))
    assert put.status_code == 200
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/admin/login", data={"email": "tester@shop.test", "password": PASSWORD, "csrf_token": token})
    assert client.post("/sandbox/faults/clear").status_code == 400
    assert client.post("/sandbox/received/clear").status_code == 400
    with app.app_context():
        assert len(db.session.scalars(select(ReceivedEvent)).all()) == 1
        db.session.remove()
        db.engine.dispose()


def test_the_request_log_never_shows_a_token_from_the_query_string(app, caplog):
    from sandbox import RedactAccessToken

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s', (), None)
    record.args = ("127.0.0.1", f"POST {GRAPH}?access_token={DEMO_ACCESS_TOKEN}&x=1 HTTP/1.1", "200")
    assert RedactAccessToken().filter(record)
    assert DEMO_ACCESS_TOKEN not in record.getMessage() and "access_token=[redacted]&x=1" in record.getMessage()
    assert any(isinstance(f, RedactAccessToken) for f in logging.getLogger("werkzeug").filters)
