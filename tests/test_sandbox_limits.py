"""The sandbox holds against strangers: body size, NaN/Infinity, faults kept for registered pixels, wiping."""

from sqlalchemy import func, select

from app import DEMO_ACCESS_TOKEN
from extensions import db
from sandbox.models import ErrorAnswer, ReceivedEvent
from tests.conftest import GRAPH_VERSION
from tests.test_sandbox import GRAPH, meta_error, refund, send

STRANGER = f"/sandbox/graph/{GRAPH_VERSION}/5555555555555555/events"


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(ReceivedEvent)),
            db.session.scalar(select(func.count()).select_from(ErrorAnswer)),
        )


def test_a_body_over_the_sandbox_limit_is_refused_and_nothing_is_stored(app, client):
    app.config["SANDBOX_MAX_BODY_BYTES"] = 64 * 1024
    padding = "x" * (70 * 1024)
    for response in (
        client.post(GRAPH, json={"data": [refund()], "access_token": DEMO_ACCESS_TOKEN, "test_event_code": padding}),
        client.post(GRAPH, data={"data": "[]", "access_token": DEMO_ACCESS_TOKEN, "test_event_code": padding}),
    ):
        error = meta_error(response, status=413)
        assert error["code"] == 1
    assert counts(app)[0] == 0
    with app.app_context():  # the error answer is remembered, not the body
        assert all(answer.test_event_code is None for answer in db.session.scalars(select(ErrorAnswer)))
    app.config["SANDBOX_MAX_BODY_BYTES"] = 4 * 1024 * 1024
    assert send(client, [refund()]).status_code == 200  # 1,000-event batches still fit


def test_a_long_test_event_code_of_an_anonymous_request_is_kept_short(app, client):
    response = client.post(STRANGER, json={"data": [refund()], "test_event_code": "T" * 100_000})
    assert meta_error(response)["code"] == 104  # no access token
    with app.app_context():
        assert len(db.session.scalar(select(ErrorAnswer.test_event_code))) == 100


def test_nan_and_infinity_are_refused_as_invalid_json(app, client):
    bodies = [
        '{"data": [{"event_name": "Refund", "custom_data": {"value": NaN}}], "access_token": "%s"}',
        '{"data": [{"event_name": "Refund", "custom_data": {"value": Infinity}}], "access_token": "%s"}',
        '{"data": [{"event_name": "Refund", "custom_data": {"value": -Infinity}}], "access_token": "%s"}',
    ]
    for body in bodies:
        response = client.post(GRAPH, data=body % DEMO_ACCESS_TOKEN, content_type="application/json")
        assert meta_error(response)["message"] == "(#100) The request body is not valid JSON"
    # The SDK's form: data is JSON text, each event a JSON string.
    form = client.post(GRAPH, data={"data": '[{"value": NaN}]', "access_token": DEMO_ACCESS_TOKEN})
    assert meta_error(form)["code"] == 100
    strings = client.post(GRAPH, data={"data": '["{\\"value\\": Infinity}"]', "access_token": DEMO_ACCESS_TOKEN})
    assert meta_error(strings)["code"] == 100
    assert counts(app)[0] == 0  # nothing stored, so no invalid JSON can be served back


def test_json_nested_100000_deep_is_refused_without_a_server_error(app, client):
    deep = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(GRAPH, data=deep, content_type="application/json")
    assert meta_error(response)["code"] == 100
    assert counts(app)[0] == 0


def test_requests_to_an_unregistered_pixel_leave_the_testers_faults_alone(app, client, api):
    assert api.put("/sandbox/api/faults", {"error": "transient", "count": 2}, role="tester").status_code == 200
    for _ in range(5):
        stranger = client.post(STRANGER, json={"data": [refund()]})
        assert meta_error(stranger)["code"] == 104  # no token: Meta's answer, not the injected fault
    assert api.get("/sandbox/api/faults", role="tester").get_json()["count"] == 2
    assert meta_error(send(client, [refund()]), status=500)["code"] == 2  # the registered pixel gets it
    assert api.get("/sandbox/api/faults", role="tester").get_json()["count"] == 1


def test_wiping_what_the_sandbox_received_needs_the_merchant_role(app, client, api):
    send(client, [refund()])
    assert api.delete("/sandbox/api/received", role="tester").status_code == 403
    assert counts(app)[0] == 1
    assert api.delete("/sandbox/api/received", role="merchant").status_code == 200
    assert counts(app)[0] == 0
