"""The GA4 Measurement Protocol sandbox: /mp/collect records anything, /debug/mp/collect validates like Google."""

import json
import time

import pytest

COLLECT = "/sandbox/ga4/mp/collect?measurement_id=G-TEST123&api_secret=sEcReT-value-123"
DEBUG = "/sandbox/ga4/debug/mp/collect?measurement_id=G-TEST123&api_secret=whatever"


def refund(**params) -> dict:
    """A full-refund event as the GA4 module sends it."""
    return {"name": "refund", "params": {"transaction_id": "XKBKNABJK", "value": 67.56, "currency": "EUR", **params}}


def validate(client, body) -> list[dict]:
    response = client.post(DEBUG, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    return response.get_json()["validationMessages"]


def codes(messages) -> list[tuple[str | None, str]]:
    return [(m.get("fieldPath"), m["validationCode"]) for m in messages]


def test_collect_answers_204_and_records_each_event_with_the_secret_masked(client, api):
    body = {"client_id": "123.456", "events": [refund(), refund(transaction_id="OTHER")]}
    response = client.post(COLLECT, json=body)
    assert response.status_code == 204 and response.data == b""
    rows = api.get("/sandbox/api/received?destination=ga4", "tester").get_json()
    assert [r["event"]["params"]["transaction_id"] for r in rows] == ["XKBKNABJK", "OTHER"]
    assert {r["request_id"] for r in rows} == {rows[0]["request_id"]}  # one request
    assert rows[0]["measurement_id"] == "G-TEST123" and rows[0]["client_id"] == "123.456"
    assert rows[0]["api_secret"] == "sE…23" and "sEcReT-value-123" not in json.dumps(rows)
    assert rows[0]["debug"] is False


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b"{" * 100_000, b'{"client_id": "\\ud800", "events": [{"name": "\\udfff"}]}', b"\xff\xfe"],
)
def test_collect_answers_2xx_for_anything_as_google_does(client, api, raw):
    response = client.post(COLLECT.replace("sEcReT", "wrong"), data=raw, content_type="application/json")
    assert response.status_code == 204
    assert len(api.get("/sandbox/api/received?destination=ga4", "tester").get_json()) >= 1


def test_debug_valid_request_has_no_messages(client):
    now = int(time.time() * 1_000_000)
    items = [{"item_id": "7", "item_name": "Mug", "quantity": 1, "price": 11.4}]
    assert validate(client, {"client_id": "1.2", "timestamp_micros": now, "events": [refund(items=items)]}) == []


def test_debug_reports_googles_checked_examples(client):
    assert codes(validate(client, {"events": [refund()]})) == [("client_id", "VALUE_REQUIRED")]
    assert codes(validate(client, {"client_id": "1", "events": [{"name": "_badEventName"}]})) == [
        ("events", "NAME_INVALID")
    ]
    assert codes(validate(client, {"client_id": "1", "events": [{"name": "session_start"}]})) == [
        ("events", "NAME_RESERVED")
    ]
    message = validate(client, {"client_id": "1", "events": [{"name": "_badEventName"}]})[0]
    assert message["description"].startswith("Event at index: [0] has invalid name [_badEventName].")


def test_debug_reports_each_documented_limit(client):
    base = {"client_id": "1"}
    assert codes(validate(client, {**base, "events": [{"name": "x" * 41}]})) == [("events", "NAME_INVALID")]
    assert validate(client, {**base, "events": [{"name": "x" * 40}]}) == []
    assert codes(validate(client, {**base, "events": [{"name": "bad-name"}]})) == [("events", "NAME_INVALID")]
    params = {f"p{i}": i for i in range(26)}
    assert ("events.params", "EXCEEDED_MAX_ENTITIES") in codes(
        validate(client, {**base, "events": [{"name": "a", "params": params}]})
    )
    long_value = {"name": "a", "params": {"note": "v" * 101}}
    assert codes(validate(client, {**base, "events": [long_value]})) == [("events.params", "VALUE_OUT_OF_BOUNDS")]
    no_currency = {"name": "refund", "params": {"value": 1}}
    assert codes(validate(client, {**base, "events": [no_currency]})) == [("events.params.currency", "VALUE_REQUIRED")]
    assert codes(validate(client, {**base, "events": [{"name": "a"}] * 26})) == [("events", "EXCEEDED_MAX_ENTITIES")]
    reserved = {"name": "a", "params": {"google_x": 1, "_y": 2}}
    assert codes(validate(client, {**base, "events": [reserved]})) == [
        ("events.params", "NAME_RESERVED"),
        ("events.params", "NAME_INVALID"),
    ]


def test_debug_body_of_130_kb_is_refused(client):
    body = {"client_id": "1", "events": [{"name": "a", "params": {"x": "y" * 133_200}}]}
    assert codes(validate(client, body)) == [(None, "VALUE_OUT_OF_BOUNDS")]


def test_debug_72_hour_window_is_enforced_only_when_asked(client):
    old = int((time.time() - 73 * 3600) * 1_000_000)
    assert validate(client, {"client_id": "1", "timestamp_micros": old, "events": [refund()]}) == []
    strict = {"client_id": "1", "timestamp_micros": old, "validation_behavior": "ENFORCE_RECOMMENDATIONS"}
    assert codes(validate(client, {**strict, "events": [refund()]})) == [("timestamp_micros", "VALUE_OUT_OF_BOUNDS")]


@pytest.mark.parametrize(
    "body",
    [
        {"client_id": 2**64, "events": [{"name": "a"}]},
        {"client_id": "1", "events": [{"name": "a", "params": {"value": "NaN", "currency": "EUR"}}]},
        {"client_id": "1", "events": [{"name": "a", "params": {"n": "\ud800"}}]},
        {"client_id": "1", "events": "nope"},
        {"client_id": "1", "events": [{"name": "a", "timestamp_micros": 2**70}]},
    ],
)
def test_debug_hostile_values_get_messages_not_errors(client, body):
    response = client.post(DEBUG, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200 and response.get_json()["validationMessages"]


def test_faults_make_collect_fail_then_clear(client, api):
    assert api.put("/sandbox/api/ga4/faults", {"error": "unavailable", "count": 1}, "tester").status_code == 200
    assert client.post(COLLECT, json={"client_id": "1", "events": [refund()]}).status_code == 503
    assert client.post(COLLECT, json={"client_id": "1", "events": [refund()]}).status_code == 204
    assert api.get("/sandbox/api/ga4/faults", "tester").get_json() == {
        "error": "unavailable",
        "error_rate": 1.0,
        "count": 0,
    }
    bad = api.put("/sandbox/api/ga4/faults", {"error": "token", "latency_ms": 2**63}, "tester")
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"error", "latency_ms"}


@pytest.mark.parametrize("segment", ["ga4", "googleads", "webhooks"])
def test_a_fault_count_past_the_integer_column_is_refused_for_every_service(api, segment):
    bad = api.put(f"/sandbox/api/{segment}/faults", {"error": "server", "count": 2**63}, "tester")
    assert bad.status_code == 422 and "from 1 to 2147483647" in bad.get_json()["error"]["fields"]["count"]
    assert api.get(f"/sandbox/api/{segment}/faults", "tester").get_json() == {}


def test_received_needs_a_key_and_a_known_destination(client, api):
    assert client.get("/sandbox/api/received?destination=ga4").status_code == 401
    assert api.get("/sandbox/api/received?destination=nope", "tester").status_code == 422


def test_sandbox_tab_lists_hits_and_sets_faults(client, auth):
    client.post(COLLECT, json={"client_id": "123.456", "events": [refund()]})
    auth.login("tester")
    page = client.get("/sandbox/services/ga4").get_data(as_text=True)
    assert "XKBKNABJK" in page and "67.56 EUR" in page and "123.456" in page and "sEcReT-value-123" not in page
    assert 'href="/sandbox/services/googleads"' in client.get("/sandbox/").get_data(as_text=True)
    response = client.post("/sandbox/services/ga4/faults", data={"error": "server", "count": "1"})
    assert response.status_code == 302
    assert client.post(COLLECT, json={"client_id": "1", "events": [refund()]}).status_code == 500
    refused = client.post("/sandbox/services/ga4/faults", data={"error": "nope"}, follow_redirects=True)
    assert "must be one of" in refused.get_data(as_text=True)
