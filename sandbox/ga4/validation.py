"""GA4 Measurement Protocol's validation server, as a pure function: a request body in, validationMessages out.

Google's `/debug/mp/collect` answers HTTP 200 with `{"validationMessages": [...]}` (empty when valid); each
message has `fieldPath` (not indexed), `description` and `validationCode` (shared/DOMAIN.md §4.1). The
limits are Google's documented ones: ≤ 25 events a request, ≤ 25 parameters an event, names ≤ 40
characters of letters, digits and `_` starting with a letter, values ≤ 100 characters, ≤ 25 user
properties (names ≤ 24, values ≤ 36), a body under 130 kB. Nothing here touches Flask or the database.
"""

import re
from numbers import Number

from core.inputs import strict_loads

MAX_BODY_BYTES = 130 * 1024
MAX_EVENTS = 25
MAX_PARAMS = 25
MAX_NAME = 40
MAX_VALUE = 100
# Google allows longer values for these page parameters.
LONG_VALUES = {"page_location": 1000, "page_referrer": 420, "page_title": 300}
MAX_USER_PROPERTIES = 25
MAX_USER_PROPERTY_NAME = 24
MAX_USER_PROPERTY_VALUE = 36
MAX_ITEMS = 200
TIMESTAMP_WINDOW_MICROS = 72 * 3600 * 1_000_000
RESERVED_EVENTS = frozenset(
    {
        "ad_activeview",
        "ad_click",
        "ad_exposure",
        "ad_impression",
        "ad_query",
        "ad_reward",
        "adunit_exposure",
        "app_background",
        "app_clear_data",
        "app_exception",
        "app_install",
        "app_remove",
        "app_store_refund",
        "app_store_subscription_cancel",
        "app_store_subscription_convert",
        "app_store_subscription_renew",
        "app_update",
        "app_upgrade",
        "dynamic_link_app_open",
        "dynamic_link_app_update",
        "dynamic_link_first_open",
        "error",
        "firebase_campaign",
        "firebase_in_app_message_action",
        "firebase_in_app_message_dismiss",
        "firebase_in_app_message_impression",
        "first_open",
        "first_visit",
        "in_app_purchase",
        "notification_dismiss",
        "notification_foreground",
        "notification_open",
        "notification_receive",
        "os_update",
        "session_start",
        "session_start_with_rollout",
        "user_engagement",
    }
)
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
VALIDATION_BEHAVIORS = ("RELAXED", "ENFORCE_RECOMMENDATIONS")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def message(field_path: str | None, description: str, code: str) -> dict:
    """Return one validation message in Google's shape (fieldPath left out when there is none)."""
    found = {"fieldPath": field_path} if field_path else {}
    return {**found, "description": description, "validationCode": code}


def parse_body(raw: bytes) -> tuple[dict | None, list[dict]]:
    """Return (the body as a JSON object, []) or (None, the message that says why it is unusable)."""
    if len(raw) >= MAX_BODY_BYTES:
        return None, [
            message(None, f"Post body must be smaller than 130kB; got {len(raw)} bytes.", "VALUE_OUT_OF_BOUNDS")
        ]
    try:
        body = strict_loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None, [message(None, "Unable to parse Measurement Protocol JSON payload.", "VALUE_INVALID")]
    if not isinstance(body, dict):
        return None, [message(None, "The payload must be a JSON object.", "VALUE_INVALID")]
    return body, []


def validation_messages(body: dict, now_micros: int) -> list[dict]:
    """Return every validation message Google's validation server would give for body."""
    messages: list[dict] = []
    behavior = body.get("validation_behavior", "RELAXED")
    if behavior not in VALIDATION_BEHAVIORS:
        messages.append(
            message("validation_behavior", f"Unknown validation_behavior [{_shown(behavior)}].", "VALUE_INVALID")
        )
    enforce = behavior == "ENFORCE_RECOMMENDATIONS"
    client_id = body.get("client_id")
    if client_id in (None, "") and not body.get("app_instance_id"):
        messages.append(message("client_id", "Measurement requires a client_id.", "VALUE_REQUIRED"))
    elif client_id is not None and not _text(client_id):
        messages.append(message("client_id", "client_id must be a string.", "VALUE_INVALID"))
    if "user_id" in body and not _text(body["user_id"]):
        messages.append(message("user_id", "user_id must be a string.", "VALUE_INVALID"))
    messages += _timestamp("timestamp_micros", body.get("timestamp_micros"), now_micros, enforce)
    messages += _user_properties(body.get("user_properties"))
    events = body.get("events")
    if events is None:
        messages.append(message("events", "Measurement requires events.", "VALUE_REQUIRED"))
        return messages
    if not isinstance(events, list):
        messages.append(message("events", "events must be an array.", "VALUE_INVALID"))
        return messages
    if not events:
        messages.append(message("events", "Measurement requires at least one event.", "VALUE_REQUIRED"))
    if len(events) > MAX_EVENTS:
        messages.append(
            message(
                "events",
                f"A maximum of {MAX_EVENTS} events can be specified per request; got {len(events)}.",
                "EXCEEDED_MAX_ENTITIES",
            )
        )
    for index, event in enumerate(events):
        messages += _event(index, event, now_micros, enforce)
    return messages


def _event(index: int, event, now_micros: int, enforce: bool) -> list[dict]:
    where = f"Event at index: [{index}]"
    if not isinstance(event, dict):
        return [message("events", f"{where} must be an object.", "VALUE_INVALID")]
    messages: list[dict] = []
    name = event.get("name")
    if name in (None, ""):
        messages.append(message("events", f"{where} requires a name.", "VALUE_REQUIRED"))
    else:
        problem = _name_problem(name, MAX_NAME)
        if problem:
            messages.append(message("events", f"{where} has invalid name [{_shown(name)}]. {problem}", "NAME_INVALID"))
        elif name in RESERVED_EVENTS:
            messages.append(message("events", f"{where} has name [{name}] which is reserved.", "NAME_RESERVED"))
    messages += _timestamp("events.timestamp_micros", event.get("timestamp_micros"), now_micros, enforce)
    params = event.get("params", {})
    if not isinstance(params, dict):
        messages.append(message("events.params", f"{where} has params that are not an object.", "VALUE_INVALID"))
        return messages
    if len(params) > MAX_PARAMS:
        messages.append(
            message(
                "events.params",
                f"{where} has {len(params)} params; the maximum is {MAX_PARAMS}.",
                "EXCEEDED_MAX_ENTITIES",
            )
        )
    for key, value in params.items():
        messages += _param(where, key, value)
    if "value" in params and params.get("currency") in (None, ""):
        messages.append(message("events.params.currency", f"{where} has a value but no currency.", "VALUE_REQUIRED"))
    return messages


def _param(where: str, key: str, value) -> list[dict]:
    problem = _name_problem(key, MAX_NAME)
    if problem:
        return [message("events.params", f"{where} has invalid param name [{_shown(key)}]. {problem}", "NAME_INVALID")]
    if key.startswith(RESERVED_PREFIXES[1:]):
        return [message("events.params", f"{where} has param name [{key}] with a reserved prefix.", "NAME_RESERVED")]
    if key == "items":
        return _items(where, value)
    if key == "value" and not _number(value):
        return [
            message(
                "events.params.value", f"{where} has a value [{_shown(value)}] that is not a number.", "VALUE_INVALID"
            )
        ]
    if key == "currency" and not (isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value)):
        return [
            message(
                "events.params.currency",
                f"{where} has currency [{_shown(value)}]; use an ISO 4217 code.",
                "VALUE_INVALID",
            )
        ]
    return _value("events.params", f"{where} param [{key}]", value, LONG_VALUES.get(key, MAX_VALUE))


def _items(where: str, items) -> list[dict]:
    if not isinstance(items, list):
        return [message("events.params.items", f"{where} has items that are not an array.", "VALUE_INVALID")]
    messages: list[dict] = []
    if len(items) > MAX_ITEMS:
        messages.append(
            message("events.params.items", f"{where} has more than {MAX_ITEMS} items.", "EXCEEDED_MAX_ENTITIES")
        )
    for position, item in enumerate(items):
        label = f"{where} item at index: [{position}]"
        if not isinstance(item, dict):
            messages.append(message("events.params.items", f"{label} must be an object.", "VALUE_INVALID"))
            continue
        if item.get("item_id") in (None, "") and item.get("item_name") in (None, ""):
            messages.append(message("events.params.items", f"{label} requires item_id or item_name.", "VALUE_REQUIRED"))
        for key in ("price", "quantity"):
            if key in item and not _number(item[key]):
                messages.append(
                    message("events.params.items", f"{label} has {key} that is not a number.", "VALUE_INVALID")
                )
        for key, value in item.items():
            if key not in ("price", "quantity"):
                messages += _value("events.params.items", f"{label} param [{_shown(key)}]", value, MAX_VALUE)
    return messages


def _user_properties(properties) -> list[dict]:
    if properties is None:
        return []
    if not isinstance(properties, dict):
        return [message("user_properties", "user_properties must be an object.", "VALUE_INVALID")]
    messages: list[dict] = []
    if len(properties) > MAX_USER_PROPERTIES:
        messages.append(
            message(
                "user_properties",
                f"A maximum of {MAX_USER_PROPERTIES} user properties is allowed.",
                "EXCEEDED_MAX_ENTITIES",
            )
        )
    for name, entry in properties.items():
        problem = _name_problem(name, MAX_USER_PROPERTY_NAME)
        if problem:
            messages.append(
                message(
                    "user_properties", f"User property [{_shown(name)}] has an invalid name. {problem}", "NAME_INVALID"
                )
            )
            continue
        value = entry.get("value") if isinstance(entry, dict) else entry
        messages += _value("user_properties", f"User property [{name}]", value, MAX_USER_PROPERTY_VALUE)
    return messages


def _timestamp(path: str, value, now_micros: int, enforce: bool) -> list[dict]:
    if value is None:
        return []
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [
            message(
                path, f"timestamp_micros [{_shown(value)}] must be a whole number of microseconds.", "VALUE_INVALID"
            )
        ]
    if enforce and value < now_micros - TIMESTAMP_WINDOW_MICROS:
        return [message(path, "timestamp_micros is more than 72 hours in the past.", "VALUE_OUT_OF_BOUNDS")]
    if value > now_micros + 15 * 60 * 1_000_000:
        return [message(path, "timestamp_micros is in the future.", "VALUE_OUT_OF_BOUNDS")]
    return []


def _value(path: str, label: str, value, limit: int) -> list[dict]:
    if isinstance(value, dict | list):
        return [message(path, f"{label} has a value that is not a string or number.", "VALUE_INVALID")]
    if isinstance(value, str):
        if _SURROGATE.search(value):
            return [message(path, f"{label} is not valid UTF-8.", "VALUE_INVALID")]
        if len(value) > limit:
            return [
                message(
                    path,
                    f"{label} has a value of {len(value)} characters; the maximum is {limit}.",
                    "VALUE_OUT_OF_BOUNDS",
                )
            ]
    return []


def _name_problem(name, limit: int) -> str | None:
    """Return why name is not a valid GA4 name, or None."""
    if not isinstance(name, str):
        return "Names must be strings."
    if len(name) > limit:
        return f"Names must be {limit} characters or fewer."
    if not name[:1].isascii() or not name[:1].isalpha():
        return "Names must start with an alphabetic character."
    if not _NAME.fullmatch(name):
        return "Only alphanumeric characters and underscores are allowed."
    return None


def _number(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, Number):
        return value == value and value not in (float("inf"), float("-inf"))
    return isinstance(value, str) and bool(re.fullmatch(r"-?\d+(\.\d+)?", value))


def _text(value) -> bool:
    return isinstance(value, str) and not _SURROGATE.search(value)


def _shown(value) -> str:
    """Return value as a message may quote it: short, no lone surrogates."""
    if isinstance(value, dict | list):
        return f"<{type(value).__name__}>"
    text = value if isinstance(value, str) else str(value)[:60]
    return _SURROGATE.sub("\ufffd", text)[:60]
