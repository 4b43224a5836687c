"""Read a Conversions API request the way Meta does: JSON, form-encoded or multipart, data as objects or strings.

The official Python SDK posts a form whose `data` field is a JSON array of JSON-encoded strings, one per
event; a hand-written client posts a JSON body with `data` as an array of objects. Both are accepted, and
so is `access_token` in the query string or in the body.
"""

from dataclasses import dataclass

from flask import Request

from core.inputs import strict_loads
from sandbox.graph_errors import GraphError, data_not_array, missing_data, path_of, schema_error


@dataclass
class EventsRequest:
    """What a POST /{pixel_id}/events carried."""

    access_token: str | None
    events: list
    test_event_code: str | None


def parse_events_request(request: Request) -> EventsRequest:
    """Return the access token, events and test event code of request; raise GraphError if malformed."""
    params = _body_params(request)
    token = params.get("access_token") or request.args.get("access_token")
    test_event_code = params.get("test_event_code", request.args.get("test_event_code"))
    if test_event_code is not None and not isinstance(test_event_code, str):
        raise schema_error("The parameter test_event_code must be a string")
    raw = params["data"] if "data" in params else request.args.get("data")
    return EventsRequest(
        access_token=token if isinstance(token, str) and token else None,
        events=events_of(raw),
        test_event_code=test_event_code or None,
    )


def _body_params(request: Request) -> dict:
    """Return the body's parameters whatever its encoding."""
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()
    body = request.get_data(cache=True)
    if not body.strip():
        return {}
    try:
        params = strict_loads(body)
    except ValueError as error:
        raise GraphError(
            400, "(#100) The request body is not valid JSON", "OAuthException", 100, reason=f"malformed JSON: {error}"
        ) from None
    if not isinstance(params, dict):
        raise GraphError(400, "(#100) The request body must be a JSON object", "OAuthException", 100)
    return params


def events_of(raw) -> list:
    """Return the events of a `data` parameter: an array of objects, or of JSON strings, or its JSON text."""
    if raw is None or raw == "":
        raise missing_data()
    if isinstance(raw, str):
        try:
            raw = strict_loads(raw)
        except ValueError:
            raise data_not_array() from None
    if not isinstance(raw, list):
        raise data_not_array()
    if not raw:
        raise missing_data()
    events = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            try:
                item = strict_loads(item)
            except ValueError:
                raise schema_error(f"The parameter {path_of('data', index)} is not a valid JSON object") from None
        events.append(item)
    return events
