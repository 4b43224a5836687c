"""Meta's event rules as a pure function (sandbox.validation), and request parsing, without HTTP."""

import hashlib
import json

import pytest

from sandbox.graph_errors import GraphError, path_of
from sandbox.parsing import events_of
from sandbox.validation import Rules, first_error, is_currency

NOW = 1_800_000_000.0


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def valid_event(**changes) -> dict:
    """A valid website Refund event; changes replace top-level keys (None removes one)."""
    event = {
        "event_name": "Refund",
        "event_time": int(NOW) - 60,
        "event_id": "refund-1",
        "action_source": "website",
        "event_source_url": "https://shop.test/checkout",
        "user_data": {
            "em": [sha("jeanne.martin@example.fr")],
            "ph": [sha("33612345678")],
            "country": [sha("fr")],
            "external_id": ["42"],
            "client_ip_address": "203.0.113.7",
            "client_user_agent": "Mozilla/5.0",
            "fbp": "fb.1.1700000000000.1234567890",
        },
        "custom_data": {"value": 23.88, "currency": "EUR", "order_id": "7", "order_reference": "XKBKNABJK"},
    }
    for key, value in changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def with_user_data(**changes) -> dict:
    event = valid_event()
    for key, value in changes.items():
        if value is None:
            event["user_data"].pop(key, None)
        else:
            event["user_data"][key] = value
    return event


def with_custom_data(**changes) -> dict:
    event = valid_event()
    event["custom_data"].update(changes)
    return event


def test_a_valid_event_passes():
    assert first_error([valid_event()], NOW) is None


def test_custom_properties_are_allowed_in_custom_data():
    assert first_error([with_custom_data(refund_reason="damaged", num_items=2)], NOW) is None


def test_path_is_meta_jsonpath():
    assert path_of("data", 0, "user_data") == "$['data'][0]['user_data']"


@pytest.mark.parametrize("missing", ["event_name", "event_time", "user_data", "action_source"])
def test_a_missing_required_key_names_its_path(missing):
    error = first_error([valid_event(**{missing: None})], NOW)
    assert (error.code, error.error_subcode) == (100, 2804019)
    assert error.error_user_title == "Server Side Api Parameter Error"
    assert error.error_user_msg == f"The parameter $['data'][0]['{missing}'] is required"


def test_an_unknown_top_level_key_is_unexpected():
    error = first_error([valid_event(value=12)], NOW)
    assert error.error_subcode == 2804019
    assert error.error_user_msg == 'Unexpected key "value" on param "$[\'data\'][0]".'


def test_an_unknown_user_data_key_is_unexpected():
    error = first_error([with_user_data(email="a@b.c")], NOW)
    assert error.error_user_msg == "Unexpected key \"email\" on param \"$['data'][0]['user_data']\"."


def test_an_unknown_key_in_contents_is_unexpected():
    error = first_error([with_custom_data(contents=[{"id": "1", "quantity": 1, "name": "Mug"}])], NOW)
    assert 'Unexpected key "name"' in error.error_user_msg
    assert "$['data'][0]['custom_data']['contents'][0]" in error.error_user_msg


def test_action_source_must_be_in_metas_list():
    error = first_error([valid_event(action_source="backoffice")], NOW)
    assert error.error_subcode == 2804019
    assert "$['data'][0]['action_source']" in error.error_user_msg


@pytest.mark.parametrize("source", ["email", "system_generated", "physical_store", "other"])
def test_non_website_sources_need_no_url_or_user_agent(source):
    event = with_user_data(client_user_agent=None)
    event.update(action_source=source)
    event.pop("event_source_url")
    assert first_error([event], NOW) is None


def test_website_events_need_event_source_url():
    error = first_error([valid_event(event_source_url=None)], NOW)
    assert error.error_user_msg.startswith("The parameter $['data'][0]['event_source_url'] is required")


def test_website_events_need_client_user_agent():
    error = first_error([with_user_data(client_user_agent=None)], NOW)
    assert "$['data'][0]['user_data']['client_user_agent'] is required" in error.error_user_msg


def test_an_event_older_than_seven_days_is_rejected():
    error = first_error([valid_event(event_time=int(NOW) - 7 * 86400 - 1)], NOW)
    assert (error.code, error.error_subcode, error.error_user_title) == (100, 2804003, "Event Timestamp Too Old")
    assert error.message == "Invalid parameter" and error.type == "OAuthException" and error.is_transient is False


def test_an_event_just_inside_seven_days_is_accepted():
    assert first_error([valid_event(event_time=int(NOW) - 7 * 86400 + 5)], NOW) is None


def test_milliseconds_are_in_the_future():
    error = first_error([valid_event(event_time=int(NOW) * 1000)], NOW)
    assert error.error_subcode == 2804004
    assert "milliseconds" in error.error_user_msg


def test_a_small_clock_skew_is_allowed_and_configurable():
    event = valid_event(event_time=int(NOW) + 30)
    assert first_error([event], NOW) is None
    assert first_error([event], NOW, Rules(future_skew=Rules().future_skew * 0)).error_subcode == 2804004


@pytest.mark.parametrize("field", ["em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country"])
def test_contact_fields_must_be_sha256_hex(field):
    error = first_error([with_user_data(**{field: ["not hashed"]})], NOW)
    assert (error.code, error.error_subcode) == (100, 2804016)
    assert f"$['data'][0]['user_data']['{field}']" in error.error_user_msg


def test_a_single_string_is_as_good_as_a_list():
    assert first_error([with_user_data(em=sha("a@b.c"))], NOW) is None


def test_external_id_may_be_unhashed():
    assert first_error([with_user_data(external_id="customer-42")], NOW) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"ct": [sha("paris")], "country": [sha("fr")], "zp": [sha("75001")], "client_user_agent": "UA"},
        {"db": [sha("19800101")], "client_user_agent": "UA"},
        {"fn": [sha("jeanne")], "ge": [sha("f")]},
        {"ln": [sha("martin")]},
        {},
    ],
)
def test_broad_only_user_data_is_rejected(fields):
    event = valid_event(action_source="system_generated", event_source_url=None, user_data=fields or {"fbp": ""})
    error = first_error([event], NOW)
    assert (error.code, error.error_subcode) == (100, 2804050)


def test_ip_and_user_agent_together_are_enough():
    event = valid_event(user_data={"client_ip_address": "2001:db8::1", "client_user_agent": "UA"})
    assert first_error([event], NOW) is None


def test_custom_event_names_have_at_most_fifty_characters():
    assert first_error([valid_event(event_name="R" * 50)], NOW) is None
    error = first_error([valid_event(event_name="R" * 51)], NOW)
    assert error.error_subcode == 2804019 and "at most 50 characters" in error.error_user_msg


def test_a_negative_value_is_rejected_unless_configured():
    event = with_custom_data(value=-23.88)
    error = first_error([event], NOW)
    assert error.error_subcode == 2804019
    assert "$['data'][0]['custom_data']['value']" in error.error_user_msg and "negative" in error.error_user_msg
    assert first_error([event], NOW, Rules(reject_negative_value=False)) is None


@pytest.mark.parametrize("currency", ["EURO", "XXY", "", 978])
def test_currency_must_be_iso_4217(currency):
    error = first_error([with_custom_data(currency=currency)], NOW)
    assert "$['data'][0]['custom_data']['currency']" in error.error_user_msg


def test_currency_codes_are_case_insensitive():
    assert is_currency("eur") and is_currency("USD") and not is_currency("EU")


def test_purchase_needs_value_and_currency():
    event = valid_event(event_name="Purchase", custom_data={"value": 10})
    assert "['custom_data']['currency'] is required" in first_error([event], NOW).error_user_msg


def test_one_invalid_event_rejects_the_request_and_names_its_index():
    events = [valid_event(), valid_event(), valid_event(event_time="yesterday")]
    error = first_error(events, NOW)
    assert "$['data'][2]['event_time']" in error.error_user_msg


def test_more_than_a_thousand_events_are_refused():
    assert first_error([valid_event()] * 1000, NOW) is None
    error = first_error([valid_event()] * 1001, NOW)
    assert error.code == 100 and error.error_user_title == "Too Many Events"


def test_data_may_be_objects_strings_or_json_text():
    event = valid_event()
    assert events_of([event]) == [event]
    assert events_of([json.dumps(event)]) == [event]
    assert events_of(json.dumps([json.dumps(event)])) == [event]


@pytest.mark.parametrize("raw, message", [(None, "is required"), ("[]", "is required"), ("{}", "must be an array")])
def test_data_must_be_a_non_empty_array(raw, message):
    with pytest.raises(GraphError) as caught:
        events_of(raw)
    assert message in caught.value.message and caught.value.code == 100


def test_a_string_that_is_not_json_names_its_index():
    with pytest.raises(GraphError) as caught:
        events_of([json.dumps(valid_event()), "{not json"])
    assert "$['data'][1]" in caught.value.error_user_msg


# --- windows, types and keys of Meta's documentation and SDK ------------------------------------------


def test_a_physical_store_event_is_accepted_up_to_62_days_old():
    event = valid_event(action_source="physical_store", event_source_url=None, event_time=int(NOW) - 62 * 86400 + 5)
    assert first_error([event], NOW) is None


def test_a_physical_store_event_older_than_62_days_is_too_old():
    event = valid_event(action_source="physical_store", event_source_url=None, event_time=int(NOW) - 62 * 86400 - 1)
    error = first_error([event], NOW)
    assert (error.error_subcode, error.error_user_title) == (2804003, "Event Timestamp Too Old")
    assert "within 62 days" in error.error_user_msg


def test_a_website_event_eight_days_old_is_still_too_old():
    error = first_error([valid_event(event_time=int(NOW) - 8 * 86400)], NOW)
    assert error.error_subcode == 2804003 and "within 7 days" in error.error_user_msg


@pytest.mark.parametrize(
    "changes",
    [
        {"opt_out": False},
        {"opt_out": True},
        {"data_processing_options": []},
        {
            "data_processing_options": ["LDU"],
            "data_processing_options_country": 1,
            "data_processing_options_state": 1000,
        },
        {"data_processing_options": ["LDU"], "data_processing_options_country": 0, "data_processing_options_state": 0},
        {"event_source_url": "http://shop.test/order-confirmation?id=7"},
    ],
)
def test_parameters_of_the_sdks_types_pass(changes):
    assert first_error([valid_event(**changes)], NOW) is None


@pytest.mark.parametrize(
    "key, value",
    [
        ("opt_out", "true"),
        ("opt_out", 1),
        ("data_processing_options", "LDU"),
        ("data_processing_options", [1]),
        ("data_processing_options", {"LDU": True}),
        ("data_processing_options_country", "1"),
        ("data_processing_options_country", True),
        ("data_processing_options_country", 1.5),
        ("data_processing_options_state", "CA"),
        ("data_processing_options_state", [1000]),
        ("event_source_url", "shop.test/checkout"),
        ("event_source_url", "javascript:alert(1)"),
        ("event_source_url", 42),
        ("event_source_url", "https://shop.test/a b"),
        ("event_source_url", "https://[::1/x"),
    ],
)
def test_parameters_of_the_wrong_type_are_refused_as_malformed(key, value):
    error = first_error([valid_event(**{key: value})], NOW)
    assert (error.status, error.code, error.error_subcode, error.is_transient) == (400, 100, 2804019, False)
    assert error.error_user_msg.startswith(f"The value of the parameter $['data'][0]['{key}'] is invalid")


def test_an_app_event_without_app_data_is_refused():
    error = first_error([valid_event(action_source="app", event_source_url=None)], NOW)
    assert error.error_subcode == 2804019
    assert error.error_user_msg == "The parameter $['data'][0]['app_data'] is required for app events"


def test_an_app_event_with_app_data_passes():
    app_data = {"advertiser_tracking_enabled": 1, "application_tracking_enabled": 1, "extinfo": ["i2"]}
    assert first_error([valid_event(action_source="app", event_source_url=None, app_data=app_data)], NOW) is None


@pytest.mark.parametrize(
    "key", ["page_scoped_user_id", "ig_account_id", "ig_sid", "anon_id", "madid", "ctwa_clid", "page_id"]
)
def test_metas_documented_user_data_keys_are_accepted(key):
    assert first_error([with_user_data(**{key: "1234567890"})], NOW) is None


def test_net_revenue_is_accepted_as_a_number_and_refused_otherwise():
    assert first_error([with_custom_data(net_revenue=19.9)], NOW) is None
    error = first_error([with_custom_data(net_revenue="a lot")], NOW)
    assert "$['data'][0]['custom_data']['net_revenue']" in error.error_user_msg
