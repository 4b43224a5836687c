"""Meta's rules for server events, as a pure function: the first invalid event and Meta's answer to it.

Nothing here touches Flask or the database, so every rule is testable on plain dicts. One invalid
event rejects the whole request (shared/DOMAIN.md §3), so `first_error` stops at the first problem.
"""

import functools
import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta
from numbers import Number
from urllib.parse import urlsplit

import pycountry

from sandbox.graph_errors import (
    SUBCODE_FUTURE,
    SUBCODE_INSUFFICIENT,
    SUBCODE_TOO_OLD,
    SUBCODE_UNHASHED,
    GraphError,
    invalid_event,
    invalid_value,
    missing_parameter,
    path_of,
    schema_error,
    too_many_events,
    unexpected_key,
)

ACTION_SOURCES = (
    "email",
    "website",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
)
REQUIRED_EVENT_KEYS = ("event_name", "event_time", "user_data", "action_source")
# The server event parameters Meta knows (facebook-business SDK v26 `Event.normalize`).
EVENT_KEYS = frozenset(
    {
        *REQUIRED_EVENT_KEYS,
        "event_source_url",
        "event_id",
        "opt_out",
        "custom_data",
        "app_data",
        "data_processing_options",
        "data_processing_options_country",
        "data_processing_options_state",
        "messaging_channel",
        "original_event_data",
        "attribution_data",
        "advanced_measurement_table",
        "referrer_url",
    }
)
# Customer information parameters Meta requires SHA-256 hashed (64 hex characters).
HASHED_USER_DATA = frozenset(
    {"em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "f5first", "f5last", "fi", "dobd", "dobm", "doby"}
)
USER_DATA_KEYS = frozenset(
    {
        *HASHED_USER_DATA,
        "external_id",  # hashing recommended, not required
        "client_ip_address",
        "client_user_agent",
        "fbc",
        "fbp",
        "subscription_id",
        "fb_login_id",
        "lead_id",
        "madid",
        "anon_id",
        "ctwa_clid",
        "page_id",
        # Documented by Meta (customer information parameters), not yet in every SDK.
        "page_scoped_user_id",
        "ig_account_id",
        "ig_sid",
    }
)
# user_data made only of fields within one of these sets is too broad to match anybody (2804050).
BROAD_COMBINATIONS = (
    frozenset({"ct", "country", "st", "zp", "ge", "client_user_agent"}),
    frozenset({"db", "client_user_agent"}),
    frozenset({"fn", "ge"}),
    frozenset({"ln", "ge"}),
)
CONTENT_KEYS = frozenset(
    {"id", "quantity", "item_price", "title", "description", "brand", "category", "delivery_category"}
)
MAX_EVENT_NAME_LENGTH = 50
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Rules:
    """The limits a request is judged by (Meta's, plus the sandbox's configurable choices)."""

    max_events: int = 1000
    max_age: timedelta = timedelta(days=7)
    # Meta accepts physical_store (offline) events up to 62 days old.
    max_age_physical_store: timedelta = timedelta(days=62)
    # Meta does not document its allowance for clocks ahead; a minute absorbs ordinary skew and still
    # catches milliseconds sent as seconds.
    future_skew: timedelta = timedelta(seconds=60)
    reject_negative_value: bool = True


def first_error(events: list, now: float, rules: Rules = Rules()) -> GraphError | None:
    """Return Meta's answer to the first invalid event of a request (now in Unix seconds), or None."""
    if len(events) > rules.max_events:
        return too_many_events(len(events), rules.max_events)
    for index, event in enumerate(events):
        error = event_error(event, index, now, rules)
        if error is not None:
            return error
    return None


def event_error(event, index: int, now: float, rules: Rules = Rules()) -> GraphError | None:
    """Return Meta's answer to one invalid event at data[index], or None when it is valid."""
    here = path_of("data", index)
    if not isinstance(event, dict):
        return schema_error(f"The parameter {here} must be an object")
    for key in event:
        if key not in EVENT_KEYS:
            return unexpected_key(key, here)
    for key in REQUIRED_EVENT_KEYS:
        if _absent(event.get(key)):
            return missing_parameter(path_of("data", index, key))
    return (
        _event_name_error(event["event_name"], index)
        or _event_time_error(event, index, now, rules)
        or _action_source_error(event, index)
        or _typed_parameters_error(event, index)
        or _user_data_error(event, index)
        or _custom_data_error(event, index, rules)
        or _event_id_error(event, index)
    )


def _absent(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _event_name_error(name, index: int) -> GraphError | None:
    if not isinstance(name, str):
        return invalid_value(path_of("data", index, "event_name"), "an event name must be a string")
    if len(name) > MAX_EVENT_NAME_LENGTH:
        return invalid_value(
            path_of("data", index, "event_name"),
            f"event names can have at most {MAX_EVENT_NAME_LENGTH} characters; '{name[:20]}…' has {len(name)}",
        )
    return None


def event_time_of(value) -> int | None:
    """Return event_time as whole Unix seconds, or None when it is not an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _event_time_error(event: dict, index: int, now: float, rules: Rules) -> GraphError | None:
    seconds = event_time_of(event["event_time"])
    if seconds is None:
        return invalid_value(path_of("data", index, "event_time"), "must be a Unix timestamp in whole seconds")
    max_age = rules.max_age_physical_store if event.get("action_source") == "physical_store" else rules.max_age
    if seconds < now - max_age.total_seconds():
        days = max_age.days
        return invalid_event(
            SUBCODE_TOO_OLD,
            "Event Timestamp Too Old",
            "The timestamp for this event is too far in the past. Events need to be sent from your server within "
            f"{days} days of when they occurred. Enter a timestamp that has occurred within the last {days} days.",
        )
    if seconds > now + rules.future_skew.total_seconds():
        return invalid_event(
            SUBCODE_FUTURE,
            "Event Timestamp In The Future",
            f"The timestamp of {path_of('data', index, 'event_time')} is in the future ({seconds}, now is "
            f"{int(now)}). Send event_time as Unix "
            "seconds (not milliseconds) of when the event occurred.",
        )
    return None


def _action_source_error(event: dict, index: int) -> GraphError | None:
    source = event["action_source"]
    if source not in ACTION_SOURCES:
        return invalid_value(
            path_of("data", index, "action_source"),
            f"'{source}' is not a valid action_source; use one of {', '.join(ACTION_SOURCES)}",
        )
    if source == "website" and _absent(event.get("event_source_url")):
        return missing_parameter(path_of("data", index, "event_source_url"), " for website events")
    if source == "app" and _absent(event.get("app_data")):
        return missing_parameter(path_of("data", index, "app_data"), " for app events")
    return None


def _typed_parameters_error(event: dict, index: int) -> GraphError | None:
    """Refuse the event parameters whose type the SDK fixes, when they hold another type."""
    for key, (is_valid, expected) in TYPED_PARAMETERS.items():
        if key in event and event[key] is not None and not is_valid(event[key]):
            return invalid_value(path_of("data", index, key), f"{key} must be {expected}")
    return None


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_string_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_url(value) -> bool:
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# Parameter: (check, what it must be), the types of the facebook-business SDK's Event.
TYPED_PARAMETERS = {
    "opt_out": (lambda v: isinstance(v, bool), "a boolean (true or false)"),
    "data_processing_options": (_is_string_list, 'an array of strings, e.g. ["LDU"] or []'),
    "data_processing_options_country": (_is_whole, "an integer, e.g. 1 for the USA or 0 to let Meta geolocate"),
    "data_processing_options_state": (_is_whole, "an integer, e.g. 1000 for California or 0 to let Meta geolocate"),
    "event_source_url": (_is_url, "an absolute http(s) URL"),
    "referrer_url": (_is_url, "an absolute http(s) URL"),
}


def _user_data_error(event: dict, index: int) -> GraphError | None:
    user_data = event["user_data"]
    if not isinstance(user_data, dict):
        return schema_error(f"The parameter {path_of('data', index, 'user_data')} must be an object")
    present = set()
    for key, value in user_data.items():
        if key not in USER_DATA_KEYS:
            return unexpected_key(key, path_of("data", index, "user_data"))
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            return invalid_value(path_of("data", index, "user_data", key), "must be a string or an array of strings")
        values = [v for v in values if v.strip()]
        if not values:
            continue
        present.add(key)
        if key in HASHED_USER_DATA and not all(_SHA256_HEX.fullmatch(v) for v in values):
            return invalid_event(
                SUBCODE_UNHASHED,
                "Unhashed Customer Information Parameter",
                f"The parameter {path_of('data', index, 'user_data', key)} must be hashed: send the SHA-256 "
                "of the normalized value as 64 "
                "hexadecimal characters.",
            )
        if key == "client_ip_address" and not _is_ip(values[0]):
            return invalid_value(
                path_of("data", index, "user_data", key), f"'{values[0]}' is not an IPv4 or IPv6 address"
            )
    if event["action_source"] == "website" and "client_user_agent" not in present:
        return missing_parameter(path_of("data", index, "user_data", "client_user_agent"), " for website events")
    if any(present <= broad for broad in BROAD_COMBINATIONS):
        sent = ", ".join(sorted(present)) or "none"
        return invalid_event(
            SUBCODE_INSUFFICIENT,
            "You haven't added sufficient customer information parameter data for this event",
            f"The customer information parameters of {path_of('data', index, 'user_data')} ({sent}) are too "
            "broad to match this event to "
            "anybody. Add parameters such as em, ph, external_id, fbp, fbc, or client_ip_address together "
            "with client_user_agent.",
        )
    return None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Number):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@functools.lru_cache(maxsize=256)
def _known_currency(code: str) -> bool:
    return pycountry.currencies.get(alpha_3=code) is not None


def is_currency(code) -> bool:
    """Tell whether code is an ISO 4217 currency code (any letter case, as Meta accepts)."""
    return isinstance(code, str) and len(code) == 3 and _known_currency(code.upper())


def _custom_data_error(event: dict, index: int, rules: Rules) -> GraphError | None:
    custom_data = event.get("custom_data")
    if custom_data is None:
        custom_data = {}
    if not isinstance(custom_data, dict):
        return schema_error(f"The parameter {path_of('data', index, 'custom_data')} must be an object")
    if event["event_name"] == "Purchase":
        for key in ("currency", "value"):
            if _absent(custom_data.get(key)):
                return missing_parameter(path_of("data", index, "custom_data", key), " for Purchase events")
    if "value" in custom_data:
        value = _number(custom_data["value"])
        if value is None:
            return invalid_value(path_of("data", index, "custom_data", "value"), "value must be a number")
        if value < 0 and rules.reject_negative_value:
            return invalid_value(
                path_of("data", index, "custom_data", "value"),
                f"negative values are not accepted ({custom_data['value']}); send a refund as a positive value",
            )
    for key in ("net_revenue", "predicted_ltv"):
        if key in custom_data and _number(custom_data[key]) is None:
            return invalid_value(path_of("data", index, "custom_data", key), f"{key} must be a number")
    if "currency" in custom_data and not is_currency(custom_data["currency"]):
        return invalid_value(
            path_of("data", index, "custom_data", "currency"),
            f"'{custom_data['currency']}' is not an ISO 4217 currency code",
        )
    if "num_items" in custom_data and not isinstance(custom_data["num_items"], int | str):
        return invalid_value(path_of("data", index, "custom_data", "num_items"), "num_items must be an integer")
    if "content_ids" in custom_data:
        ids = custom_data["content_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str | int) and not isinstance(i, bool) for i in ids):
            return invalid_value(path_of("data", index, "custom_data", "content_ids"), "must be an array of strings")
    if "contents" in custom_data:
        return _contents_error(custom_data["contents"], index)
    return None


def _contents_error(contents, index: int) -> GraphError | None:
    if not isinstance(contents, list):
        return invalid_value(path_of("data", index, "custom_data", "contents"), "contents must be an array of objects")
    for position, item in enumerate(contents):

        def here(*key, position=position):
            return path_of("data", index, "custom_data", "contents", position, *key)

        if not isinstance(item, dict):
            return schema_error(f"The parameter {here()} must be an object")
        for key in item:
            if key not in CONTENT_KEYS:
                return unexpected_key(key, here())
        if "id" not in item:
            return missing_parameter(here("id"))
        if "quantity" in item and (isinstance(item["quantity"], bool) or not isinstance(item["quantity"], int)):
            return invalid_value(here("quantity"), "quantity must be an integer")
        if "item_price" in item and _number(item["item_price"]) is None:
            return invalid_value(here("item_price"), "item_price must be a number")
    return None


def _event_id_error(event: dict, index: int) -> GraphError | None:
    event_id = event.get("event_id")
    if event_id is not None and (isinstance(event_id, bool) or not isinstance(event_id, str | int)):
        return invalid_value(path_of("data", index, "event_id"), "event_id must be a string")
    return None
