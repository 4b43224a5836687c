"""The GA4 refund event and the Google Ads adjustment, built from the rules as a merchant states them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from ga4 import payload as ga4
from googleads import payload as ads
from refunding import FULL, PARTIAL, Refund, RefundedLine

ORDER = SimpleNamespace(
    id=42,
    reference="XKBKNABJK",
    currency="EUR",
    ga_client_id="1234567890.1700000000",
    created_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    lines=[SimpleNamespace(product_id=7, product_name="T-shirt"), SimpleNamespace(product_id=8, product_name="Mug")],
)
GA4_SETTINGS = SimpleNamespace(transaction_id_source="reference", item_id_source="id")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def refund(kind: str, value: str, lines=()) -> Refund:
    return Refund(Decimal(value), "EUR", tuple(lines), kind, "arithmetic", Decimal("0.00"))


def test_full_refund_event_has_no_items_and_a_16_digit_timestamp():
    at = NOW - timedelta(hours=2)
    event = ga4.refund_event(ORDER, refund(FULL, "67.56"), GA4_SETTINGS, at, NOW)
    assert event["name"] == "refund"
    assert event["params"] == {"transaction_id": "XKBKNABJK", "value": Decimal("67.56"), "currency": "EUR"}
    assert event["timestamp_micros"] == 1795946400000000  # 2026-11-29 10:00:00 UTC
    assert len(str(event["timestamp_micros"])) == 16


def test_partial_refund_event_carries_only_the_refunded_lines():
    line = RefundedLine(product_id=7, product_reference="TSHIRT-01", quantity=1, item_price=Decimal("23.88"))
    event = ga4.refund_event(ORDER, refund(PARTIAL, "23.88", [line]), GA4_SETTINGS, NOW, NOW)
    assert event["params"]["items"] == [
        {"item_id": "7", "item_name": "T-shirt", "quantity": 1, "price": Decimal("23.88")}
    ]
    by_reference = SimpleNamespace(transaction_id_source="id", item_id_source="reference")
    event = ga4.refund_event(ORDER, refund(PARTIAL, "23.88", [line]), by_reference, NOW, NOW)
    assert event["params"]["transaction_id"] == "42" and event["params"]["items"][0]["item_id"] == "TSHIRT-01"


def test_timestamp_left_out_after_72_hours_and_the_note_says_why():
    at = NOW - timedelta(hours=72, seconds=1)
    assert "timestamp_micros" not in ga4.refund_event(ORDER, refund(FULL, "1.00"), GA4_SETTINGS, at, NOW)
    assert "more than 72 h ago" in ga4.timestamp_note(at, NOW)
    assert "timestamp_micros" in ga4.refund_event(
        ORDER, refund(FULL, "1.00"), GA4_SETTINGS, NOW - timedelta(hours=72), NOW
    )


def test_client_id_from_the_cookie_or_made_from_the_order():
    assert ga4.client_id(ORDER) == ("1234567890.1700000000", True)
    without = SimpleNamespace(**{**vars(ORDER), "ga_client_id": None})
    assert ga4.client_id(without) == ("42.1795165200", False)


def test_google_date_time_in_the_account_time_zone():
    at = datetime(2026, 11, 29, 10, 0, 5, tzinfo=UTC)
    assert ads.google_date_time(at, ZoneInfo("Europe/Paris")) == "2026-11-29 11:00:05+01:00"
    assert ads.google_date_time(at, ZoneInfo("America/New_York")) == "2026-11-29 05:00:05-05:00"
    summer = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert ads.google_date_time(summer, ZoneInfo("Europe/Paris")) == "2026-07-01 12:00:00+02:00"
    assert ads.parse_google_date_time("2026-11-29 11:00:05+01:00") == at


def test_adjustment_time_is_always_after_the_previous_one():
    at = datetime(2026, 11, 29, 10, 0, 0, 500_000, tzinfo=UTC)
    assert ads.adjustment_time(at, None) == at.replace(microsecond=0)
    previous = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
    assert ads.adjustment_time(at, previous) == previous + timedelta(seconds=1)
    assert ads.adjustment_time(at, previous - timedelta(minutes=1)) == previous


def test_restatement_carries_the_new_total_and_retraction_no_value():
    settings = SimpleNamespace(conversion_action="customers/1234567890/conversionActions/9", zone=ZoneInfo("UTC"))
    restated = ads.adjustment(settings, ORDER, ads.RESTATEMENT, NOW, Decimal("43.68"))
    assert restated == {
        "conversionAction": "customers/1234567890/conversionActions/9",
        "adjustmentType": "RESTATEMENT",
        "adjustmentDateTime": "2026-11-29 12:00:00+00:00",
        "orderId": "XKBKNABJK",
        "restatementValue": {"adjustedValue": Decimal("43.68"), "currencyCode": "EUR"},
    }
    assert "restatementValue" not in ads.adjustment(settings, ORDER, ads.RETRACTION, NOW, None)
    assert ads.request_body([restated]) == {"conversionAdjustments": [restated], "partialFailure": True}
