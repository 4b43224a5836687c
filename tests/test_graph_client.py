"""The Graph API client: the request it sends, how it reads Meta's answers, and the token kept out."""

import json
from decimal import Decimal

import pytest

from pixelplus.graph import GraphClient, dumps, is_retryable, mask_token, pretty, scrub
from pixelplus.meta import BAD_EVENT, PERMANENT, TRANSIENT, MetaCapiSender
from tests.conftest import GRAPH_VERSION
from tests.delivery_support import TOKEN, meta_error


@pytest.fixture
def client():
    graph_client = GraphClient(connect_timeout=0.5, read_timeout=0.5, allowed_hosts=["127.0.0.1"])
    yield graph_client
    graph_client.close()


def post(client, graph, events=None, code="TEST1"):
    events = events or [{"event_name": "Refund", "event_id": "r-1", "custom_data": {"value": Decimal("12.30")}}]
    return client.post_events(graph.url + "/", GRAPH_VERSION, "1234567890123456", TOKEN, events, code)


def test_success_is_parsed_and_the_token_goes_in_the_body_only(client, graph):
    answer = post(client, graph)

    assert answer.ok and answer.http_status == 200 and answer.events_received == 1 and answer.fbtrace_id
    assert not answer.retryable and answer.error_message is None
    (request,) = graph.requests
    assert request["url"].endswith(f"/{GRAPH_VERSION}/1234567890123456/events") and "?" not in request["url"]
    assert request["body"]["access_token"] == TOKEN and request["body"]["test_event_code"] == "TEST1"
    assert '"value": 12.30' in graph.raw_bodies[0]
    assert answer.request_url == graph.url + f"/{GRAPH_VERSION}/1234567890123456/events"
    assert TOKEN not in answer.request_body
    assert json.loads(answer.request_body) == {k: v for k, v in request["body"].items() if k != "access_token"}
    assert answer.duration_ms >= 0


@pytest.mark.parametrize(
    "status, body, retryable, verdict",
    [
        (400, meta_error(190, "Invalid OAuth access token"), False, PERMANENT),
        (400, meta_error(100, "Object does not exist", subcode=33), False, PERMANENT),
        (400, meta_error(100, "Invalid parameter", subcode=2804019), False, BAD_EVENT),
        (400, meta_error(100, "Invalid parameter", subcode=2804003), False, BAD_EVENT),
        (400, meta_error(1, "An unknown error occurred"), True, TRANSIENT),
        (400, meta_error(2, "Service temporarily unavailable"), True, TRANSIENT),
        (400, meta_error(4, "Application request limit reached"), True, TRANSIENT),
        (400, meta_error(17, "User request limit reached"), True, TRANSIENT),
        (400, meta_error(341, "Application limit reached"), True, TRANSIENT),
        (400, meta_error(368, "Temporarily blocked"), True, TRANSIENT),
        (400, meta_error(803, "Something else", transient=True), True, TRANSIENT),
        (400, meta_error(803, "Some alias does not exist"), False, PERMANENT),
        (500, meta_error(1, "Internal"), True, TRANSIENT),
        (502, {"not": "meta"}, True, TRANSIENT),
        (404, {"not": "meta"}, False, PERMANENT),
    ],
)
def test_answers_are_classified_as_domain_3_says(client, graph, status, body, retryable, verdict):
    graph.fail_next = [(status, body)]
    answer = post(client, graph)
    assert not answer.ok and answer.http_status == status
    assert answer.retryable is retryable
    assert MetaCapiSender(client).classify(answer) == verdict
    if "error" in body:
        assert answer.error_code == body["error"]["code"]
        assert answer.error_message == body["error"]["message"]
        assert answer.fbtrace_id == "AbCdEf123"


def test_a_non_json_answer_is_described(client, graph):
    graph.app.add_url_rule(
        f"/{GRAPH_VERSION}/666/events", "html", lambda: ("<html>Bad Gateway</html>", 502), methods=["POST"]
    )
    answer = client.post_events(graph.url, GRAPH_VERSION, "666", TOKEN, [{}], None)
    assert not answer.ok and answer.retryable and answer.body is None
    assert answer.error_message.startswith("HTTP 502: <html>Bad Gateway")


def test_network_failures_and_timeouts_are_retryable_and_name_no_token(client, graph):
    refused = client.post_events("http://127.0.0.1:9", GRAPH_VERSION, "1", TOKEN, [{}], None)
    assert not refused.ok and refused.retryable and refused.http_status is None
    assert refused.error_message.startswith("connection error") and TOKEN not in refused.error_message

    graph.latency = 1.0
    slow = post(client, graph)
    assert not slow.ok and slow.retryable and slow.error_message.startswith("read timeout")
    assert TOKEN not in slow.error_message and 450 <= slow.duration_ms < 1000


def test_the_token_is_scrubbed_from_what_meta_echoes(client, graph):
    graph.fail_next = [(400, meta_error(190, f"Malformed access token {TOKEN}"))]
    answer = post(client, graph)
    assert TOKEN not in answer.error_message and TOKEN not in answer.response_text
    assert mask_token(TOKEN) in answer.error_message


def test_the_sender_refuses_to_send_without_a_token(client, graph, app_ctx):
    class Settings:
        access_token, graph_url, api_version = "", graph.url, GRAPH_VERSION

    sender = MetaCapiSender(client, settings_loader=lambda: Settings)
    answer = sender.send("123", [{}], None)
    assert not answer.ok and not answer.retryable and "no access token" in answer.error_message
    assert graph.requests == []


def test_the_sender_finds_the_blamed_event_in_metas_message(client):
    sender = MetaCapiSender(client)
    answer = type(
        "A",
        (),
        {
            "error_user_msg": "Unexpected key \"x\" on param \"$['data'][17]['custom_data']\".",
            "error_message": "Invalid parameter",
        },
    )
    assert sender.bad_event_index(answer, 50) == 17
    assert sender.bad_event_index(answer, 10) is None  # not in this (smaller) batch
    answer.error_user_msg = "no index here"
    assert sender.bad_event_index(answer, 50) is None


def test_exact_json_and_helpers():
    value = json.loads('{"v": 12.30, "n": [1, 2.500, "é"], "e": {}}', parse_float=Decimal)
    assert dumps(value) == '{"v": 12.30, "n": [1, 2.500, "é"], "e": {}}'
    assert json.loads(pretty(dumps(value))) == json.loads(dumps(value))
    assert "12.30" in pretty(dumps(value)) and pretty("not json") == "not json"
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))
    assert mask_token("EAABsandboxDemoToken0000Demo9x2Q") == "EAAB…9x2Q"
    assert mask_token("") == "" and mask_token("short") == "…"
    assert scrub("token=abcdefghijkl!", "abcdefghijkl") == "token=abcd…ijkl!"
    assert is_retryable(None, None) and is_retryable(503, None) and not is_retryable(400, None)
