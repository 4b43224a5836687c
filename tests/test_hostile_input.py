"""Hostile input replayed against every API route, the sandbox and the pages the issue names: no 5xx, nothing written.

The kinds come from issue #13 (integers >= 2**63 in ids, state_id, order_ids, after, count and limit; JSON
nested 100,000 deep; lone surrogates; ``?state_id=²``; ``date_to=9999-12-31``; ``/admin/orders/10**30``; a
CSV export for ``order_id=10**30``; non-ASCII digits in the pixel id and API version; a tab inside a URL),
and more of each kind. Routes come from the live URL map, so a route added later is attacked too. A 4xx
must change nothing: every table's content is fingerprinted before and after each route's batch.
"""

import hashlib
import json
import re

import pytest
from sqlalchemy import select, text

from app import DEMO_ACCESS_TOKEN, DEMO_PIXEL_ID
from extensions import db
from pixelplus.settings import save_settings
from tests.conftest import GRAPH_VERSION, PASSWORD

HUGE_INTS = [2**63, 2**64 + 1, 10**30, -(2**63) - 1]
HUGE_DIGITS = ["9223372036854775808", "1" + "0" * 30, "-9223372036854775809"]
ODD_DIGITS = ["²", "١٢٣", "１２", "1e999", "0x10", "-1", " 7 ", "7.5"]
SURROGATES = ["A\ud800", "\udfff", "x\ud83dy"]
CONTROL = ["a\tb", "a\x00b", "a\x1bb", "https://graph.face\tbook.com"]
DATES = ["9999-12-31", "0001-01-01", "99999-01-01", "2026-13-45"]
QUERY_KEYS = [
    "id",
    "order_id",
    "state_id",
    "after",
    "after_id",
    "before",
    "limit",
    "page",
    "count",
    "per_page",
    "date_from",
    "date_to",
    "from",
    "to",
    "status",
    "reference",
    "pixel_id",
    "test_event_code",
    "destination",
    "group_by",
]
FIELDS = [
    "id",
    "state_id",
    "order_ids",
    "order_id",
    "product_id",
    "order_line_id",
    "quantity",
    "lines",
    "customer",
    "browser",
    "currency",
    "payment_method",
    "refund_shipping",
    "enabled",
    "pixel_id",
    "access_token",
    "api_version",
    "graph_url",
    "test_event_code",
    "trigger_state_ids",
    "trigger_kinds",
    "test_mode_minutes",
    "latency_ms",
    "error",
    "error_rate",
    "count",
    "hang_ms",
    "data",
    "events",
    "client_id",
    "conversions",
    "stripe_webhook_secret",
    "value",
    "amount",
]
CUSTOMER_KEYS = ["email", "firstname", "lastname", "phone", "city", "state", "postcode", "country"]
# Tables that record refusals by design: the sandbox keeps Meta's recent error answers for testers, and
# its webhook receiver every request it got, verified or not (the verification result is what testers read).
ERROR_LOGS = {"sandbox_error_answer", "sandbox_webhook_hit"}
DEEP = "[" * 100_000 + "]" * 100_000
# Actions that take no body, so any body does them (and GA4's collect endpoint, which answers 2xx to anything).
BODY_IGNORED = (
    "/test-event",
    "/rotate-token",
    "/received",
    "/faults",
    "/faults/clear",
    "/mp/collect",
)


def hostile_values() -> list:
    """One or two of each kind, for the bodies (the query strings take every one)."""
    return [
        2**63,
        10**30,
        -(2**63) - 1,
        "A\ud800",
        "\udfff",
        "a\tb",
        "a\x00b",
        "١٢٣",
        "²",
        "9999-12-31",
        1e308,
        True,
        [],
        {},
    ]


def hostile_bodies() -> list[tuple[str, bytes, str]]:
    """(label, body, content type) of every hostile body sent to a route that takes one."""
    bodies = [
        ("deep", ('{"data": ' + DEEP + "}").encode(), "application/json"),
        ("deep-object", ('{"a":' * 100_000 + "1" + "}" * 100_000).encode(), "application/json"),
        ("nan", b'{"value": NaN, "data": [NaN], "state_id": NaN}', "application/json"),
        ("infinity", b'{"value": Infinity, "count": -Infinity, "error_rate": Infinity}', "application/json"),
        ("overflowing float", b'{"value": 1e999999, "error_rate": 1e999999, "amount": 1e999999}', "application/json"),
        ("bad utf-8", b'{"pixel_id": "\xff\xfe", "currency": "\xc3"}', "application/json"),
        ("list", b"[1, 2, 3]", "application/json"),
        ("string", b'"A\\ud800"', "application/json"),
        (
            "form",
            b"state_id=9223372036854775808&data=%ED%A0%80&count=10" + b"0" * 30,
            "application/x-www-form-urlencoded",
        ),
    ]
    for value in hostile_values():
        label = repr(value)[:30]
        bodies.append((f"every field {label}", _json({field: value for field in FIELDS}), "application/json"))
        nested = {
            "state_id": 1,
            "order_ids": [value],
            "lines": [{"product_id": value, "quantity": value, "order_line_id": value}],
            "customer": dict.fromkeys(CUSTOMER_KEYS, value),
            "browser": {"client_user_agent": value, "event_source_url": value},
            "data": [{"event_name": value, "event_time": value, "custom_data": {"value": value}}],
            "trigger_kinds": {str(value): "full"},
            "trigger_state_ids": [value],
        }
        bodies.append((f"nested {label}", _json(nested), "application/json"))
    return bodies


def _json(data) -> bytes:
    # ensure_ascii writes a lone surrogate as the escape "\ud800", exactly what an attacker sends.
    return json.dumps(data, ensure_ascii=True).encode()


def fingerprint(app) -> dict[str, str]:
    """A digest of every table's rows (error logs aside), to prove a refusal wrote nothing."""
    digests = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in ERROR_LOGS:
                continue
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
        db.session.remove()
    return digests


@pytest.fixture
def shop_state(app, staff, make_order):
    """An order, the module configured against the sandbox, one event received by the sandbox."""
    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        # Port 9 (discard) refuses at once: a test event sent by the replay never leaves the machine.
        settings = {"pixel_id": DEMO_PIXEL_ID, "access_token": DEMO_ACCESS_TOKEN, "enabled": True}
        save_settings({**settings, "graph_url": "http://127.0.0.1:9/sandbox/graph"})
        db.session.commit()
    return {"order_id": order_id}


def route_urls(app, order_id: int) -> list[tuple[str, str, bool]]:
    """(method, url, is_api) of every API and sandbox route, its arguments filled with real values."""
    values = {
        "segment": "ga4",
        "service": "ga4",
        "version": GRAPH_VERSION,
        "pixel_id": DEMO_PIXEL_ID,
        "customer_id": "1234567890",
        "rest": "x",
    }
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/sandbox/")) or rule.endpoint.endswith("static"):
            continue
        google_version = "googleads" in rule.rule and "<version>" in rule.rule
        values_here = {**values, "version": "v26"} if google_version else values

        def fill(match, values_here=values_here):
            converter, name = match.group(1), match.group(2)
            return str(order_id) if converter == "int" else values_here.get(name, "x")

        url = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)
        is_api = rule.rule.startswith(("/api/", "/sandbox/api/"))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, url, is_api))
    return found


def huge_path_variants(url: str, order_id: int) -> list[str]:
    """The url with its id replaced by numbers no table holds."""
    if f"/{order_id}" not in url:
        return []
    return [url.replace(f"/{order_id}", f"/{number}", 1) for number in HUGE_DIGITS[:2]]


def check(response, is_api: bool, where: str) -> None:
    """No server error; a refusal of an API answers a JSON error (the shop's shape or Meta's)."""
    assert response.status_code < 500, f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    if is_api and 400 <= response.status_code < 500 and response.status_code != 405:
        body = response.get_json(silent=True)
        assert isinstance(body, dict) and "error" in body, f"{where}: not the JSON error shape"


def test_every_api_and_sandbox_route_refuses_hostile_input_without_writing(app, client, staff, shop_state):
    order_id = shop_state["order_id"]
    headers = staff.headers("superadmin")
    client.post("/admin/login", data={"email": staff.email("superadmin"), "password": PASSWORD})
    bodies = hostile_bodies()
    values = [*HUGE_DIGITS, "²", "١٢٣", "1e999", "9999-12-31", "a\tb", "%ED%A0%80"]
    accepted: list[str] = []
    for method, url, is_api in route_urls(app, order_id):
        before = fingerprint(app)
        answers = []
        requests_to_send = [(variant, None, None) for variant in huge_path_variants(url, order_id)]
        if method == "GET" or "/conversion/" in url:  # the routes that read query strings
            if is_api:  # one key at a time too, so an API that stops at its first error is tried on each
                requests_to_send += [(url + f"?{key}={HUGE_DIGITS[1]}", None, None) for key in QUERY_KEYS]
            requests_to_send += [(url + "?" + "&".join(f"{k}={v}" for k in QUERY_KEYS), None, None) for v in values]
        if method == "POST" or (method != "GET" and not url.startswith("/sandbox/graph/")):
            requests_to_send += [(url, body, content_type) for _label, body, content_type in bodies]
        for target, body, content_type in requests_to_send:
            response = client.open(target, method=method, data=body, content_type=content_type, headers=headers)
            check(response, is_api, f"{method} {target[:120]} {(body or b'')[:60]!r}")
            answers.append(response.status_code)
        route = f"{method} {url}"
        if route.endswith(BODY_IGNORED):
            continue
        if all(300 <= status < 500 for status in answers):  # refused, or a page's redirect with a form error
            assert fingerprint(app) == before, f"{route} refused everything yet wrote something"
        else:
            accepted.append(route)
    assert [route for route in accepted if not route.startswith("GET ")] == []


ISSUE_INPUTS = [
    ("GET", "/api/orders/{huge}", None),
    ("POST", "/api/orders/{order}/status", {"state_id": 2**63}),
    ("POST", "/api/orders/{order}/status", {"state_id": 10**30}),
    ("POST", "/api/orders/bulk-status", {"order_ids": [2**63], "state_id": 7}),
    ("POST", "/api/orders/bulk-status", {"order_ids": [1, 10**30], "state_id": 7}),
    ("POST", "/api/orders/bulk-status", {"order_ids": [1], "state_id": 2**63}),
    ("GET", "/api/orders?after=9223372036854775808", None),
    ("GET", "/api/orders?limit=9223372036854775808", None),
    ("GET", "/api/orders?state_id=²", None),
    ("GET", "/api/orders?state_id=١٢٣", None),
    ("PUT", "/sandbox/api/faults", {"error": "transient", "count": 2**63}),
    ("GET", "/sandbox/api/received?limit=9223372036854775808", None),
    ("GET", "/sandbox/api/received?after=9223372036854775808", None),
    ("GET", "/api/pixelplus/events?order_id=9223372036854775808", None),
    ("GET", "/api/pixelplus/events?limit=9223372036854775808", None),
    ("POST", "/api/orders/{order}/credit-slips", {"lines": [{"order_line_id": 2**63, "quantity": 1}]}),
    ("POST", "/api/orders", "surrogate names"),
    ("PUT", "/api/pixelplus/settings", {"graph_url": "https://graph.facebook.com/\ud800"}),
    ("PUT", "/api/pixelplus/settings", {"graph_url": "https://graph.face\tbook.com"}),
    ("PUT", "/api/pixelplus/settings", {"pixel_id": "١٢٣"}),
    ("PUT", "/api/pixelplus/settings", {"pixel_id": "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦"}),
    ("PUT", "/api/pixelplus/settings", {"api_version": "v٢٦.0"}),
    ("PUT", "/api/pixelplus/settings", {"test_event_code": "TEST\ud800"}),
    ("POST", "/api/orders", "deep"),
    ("PUT", "/api/pixelplus/settings", "deep"),
    ("PUT", "/sandbox/api/faults", "deep"),
]


def test_each_input_of_the_issue_is_a_4xx_in_the_json_error_shape(app, client, staff, shop_state):
    order_id = shop_state["order_id"]
    for method, path, body in ISSUE_INPUTS:
        path = path.format(order=order_id, huge=10**30)
        if body == "surrogate names":
            body = {
                "customer": {"email": "a@b.fr", "firstname": "A\ud800", "lastname": "\udfff", "country": "FR"},
                "lines": [{"product_id": 1, "quantity": 1}],
                "state_id": 1,
                "payment_method": "Card\ud800",
            }
        before = fingerprint(app)
        data = DEEP.encode() if body == "deep" else (_json(body) if body is not None else None)
        response = client.open(
            path, method=method, data=data, content_type="application/json", headers=staff.headers("superadmin")
        )
        where = f"{method} {path} {str(body)[:60]}"
        assert 400 <= response.status_code < 500, f"{where}: {response.get_data(as_text=True)[:300]}"
        error = response.get_json()["error"]
        assert error["code"] and error["message"], where
        assert fingerprint(app) == before, where


def test_surrogate_names_are_refused_per_field(api, shop_state):
    body = {
        "customer": {"email": "a@b.fr", "firstname": "A\ud800", "lastname": "Martin", "country": "FR"},
        "lines": [{"product_id": 1, "quantity": 1}],
        "state_id": 1,
        "payment_method": "Card\ud800",
    }
    response = api.client.post(
        "/api/orders", data=_json(body), content_type="application/json", headers=api.staff.headers("admin")
    )
    fields = response.get_json()["error"]["fields"]
    assert fields["customer.firstname"] == "holds an invalid character (an unpaired surrogate)"
    assert fields["payment_method"] == "holds an invalid character (an unpaired surrogate)"


PAGE_INPUTS = [
    ("/admin/orders?date_to=9999-12-31", 200, "Choose a date between 1970-01-01 and 9998-12-31."),
    ("/admin/orders?date_from=0001-01-01", 200, "Choose a date between 1970-01-01 and 9998-12-31."),
    ("/admin/orders?page=9223372036854775808", 200, None),
    ("/admin/orders?state=²", 200, None),
    ("/admin/orders/" + "1" + "0" * 30, 404, None),
    ("/admin/orders/9223372036854775808", 404, None),
    ("/admin/pixelplus/events?date_to=9999-12-31", 200, "Choose a date between 1970-01-01 and 9998-12-31."),
    ("/admin/pixelplus/events?order_id=" + "1" + "0" * 30, 400, "order_id must be an id"),
    ("/admin/events/export.csv?order_id=" + "1" + "0" * 30, 400, "order_id must be an id"),
    ("/admin/events/export.csv?date_to=9999-12-31", 200, None),
    ("/admin/decisions?before=9223372036854775808", 400, "before must be an id"),
    ("/sandbox/?page=9223372036854775808", 200, None),
    ("/admin/orders/export.csv?date_to=9999-12-31", 200, None),
    ("/admin/orders?customer=a%00b", 400, "NUL character"),
    ("/admin/orders?sort=%00", 400, "NUL character"),
    ("/sandbox/?test_event_code=%00", 400, "NUL character"),
]


def test_pages_answer_hostile_filters_with_a_form_error_or_a_4xx(client, auth, shop_state):
    auth.login("superadmin")
    for path, status, expected in PAGE_INPUTS:
        response = client.get(path, follow_redirects=True)  # the log's old addresses redirect to delivery's
        assert response.status_code == status, f"{path}: {response.get_data(as_text=True)[:300]}"
        if expected:
            assert expected in response.get_data(as_text=True), path


def test_a_huge_id_in_a_cookie_or_a_form_is_refused_quietly(app, client, auth, shop_state):
    auth.login("admin")
    for path, data in [
        ("/admin/orders/bulk-status", {"order_ids": "9223372036854775808", "state_id": "7"}),
        ("/admin/orders/bulk-status/confirm", {"order_ids": "1" + "0" * 30, "state_id": "7"}),
        ("/admin/orders/bulk-status/confirm", {"order_ids": "1", "state_id": "9223372036854775808"}),
        (f"/admin/orders/{shop_state['order_id']}/status", {"state_id": "9223372036854775808"}),
        (f"/admin/orders/{shop_state['order_id']}/status", {"state_id": "7\x00"}),
        ("/admin/orders/bulk-status", {"order_ids": "1\x00", "state_id": "7"}),
        ("/cart/add", {"product_id": "9223372036854775808", "quantity": "1"}),
        ("/cart/remove", {"product_id": "1" + "0" * 30}),
    ]:
        before = fingerprint(app)
        response = client.post(path, data=data)
        assert response.status_code < 500, (path, response.status_code)
        assert fingerprint(app) == before, path
    with app.app_context():
        assert db.session.execute(text("select count(*) from order_history")).scalar() == 1
