"""Google Ads' checks of conversion adjustments, as pure functions over plain data.

Each row of a request is judged in order; a row that passes changes what later rows of the same
request see (a retraction then a restatement of the same order: the second is refused). Error codes
and messages are Google's (ConversionAdjustmentUploadError and friends, shared/DOMAIN.md §4.1).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

MAX_ADJUSTMENTS = 2_000
EXPIRY = timedelta(days=54)
FUTURE_SKEW = timedelta(minutes=10)
ADJUSTMENT_TYPES = ("RETRACTION", "RESTATEMENT", "ENHANCEMENT")
_DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})")
_ACTION = re.compile(r"customers/(\d{1,20})/conversionActions/(\d{1,20})")

# (error category, code) -> Google's message.
MESSAGES = {
    "CONVERSION_NOT_FOUND": "The conversion for this conversion action and conversion identifier can't be found. "
    "Make sure your conversion identifiers are associated with the correct conversion action and try again.",
    "CONVERSION_EXPIRED": "The conversion has expired: adjustments can't be uploaded for conversions "
    "older than 54 days.",
    "CONVERSION_ALREADY_RETRACTED": "The conversion has already been retracted. This adjustment was not processed.",
    "ADJUSTMENT_PRECEDES_CONVERSION": "The adjustment date time is earlier than the conversion date time.",
    "MORE_RECENT_RESTATEMENT_FOUND": "An adjustment with a later or equal adjustment date time has already been "
    "processed for this conversion. This adjustment was not processed.",
    "RESTATEMENT_ALREADY_EXISTS": "A restatement with this adjustment date time already exists for this conversion.",
    "DUPLICATE_ADJUSTMENT_IN_REQUEST": "The request contains more than one adjustment for the same conversion and "
    "adjustment date time.",
    "TOO_MANY_ADJUSTMENTS_IN_REQUEST": f"The request contains more than {MAX_ADJUSTMENTS:,} adjustments.",
    "CONVERSION_ACTION_NOT_ELIGIBLE_FOR_ENHANCEMENT": "The conversion action is not eligible for enhancement.",
    "REQUIRED": "The required field was not present.",
    "INVALID_VALUE": "The field's value is invalid.",
    "RESOURCE_NAME_MALFORMED": "The resource name is malformed.",
    "INVALID_FIELD_VALUES_IN_DATE_TIME": "The date time must be 'yyyy-mm-dd hh:mm:ss+|-hh:mm'.",
    "LATER_THAN_MAXIMUM_DATE": "The date time is in the future.",
    "TOO_LOW": "Too low.",
}
CATEGORIES = {
    "REQUIRED": "fieldError",
    "INVALID_VALUE": "fieldError",
    "RESOURCE_NAME_MALFORMED": "requestError",
    "INVALID_FIELD_VALUES_IN_DATE_TIME": "dateError",
    "LATER_THAN_MAXIMUM_DATE": "dateError",
    "TOO_LOW": "rangeError",
}


def category(code: str) -> str:
    """Return the errorCode key Google files code under (conversionAdjustmentUploadError by default)."""
    return CATEGORIES.get(code, "conversionAdjustmentUploadError")


@dataclass
class Conversion:
    """What the sandbox knows of one conversion: when it happened and the adjustments applied to it."""

    id: int
    converted_at: datetime
    adjustments: list[tuple[str, datetime]] = field(default_factory=list)  # (type, adjusted_at)


@dataclass
class Verdict:
    """The outcome of one row: the error (code and snake_case field path) or what to apply."""

    index: int
    error: str | None = None
    field_path: tuple[str, ...] = ()
    conversion: Conversion | None = None
    adjustment_type: str | None = None
    adjusted_at: datetime | None = None
    adjusted_value: Decimal | None = None
    action_id: str | None = None
    order_id: str | None = None


def parse_date_time(text) -> datetime | None:
    """Return 'yyyy-mm-dd hh:mm:ss+hh:mm' as an aware datetime, or None when it is not that."""
    match = _DATE_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        zone = timezone(offset if sign == "+" else -offset)
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone)
    except ValueError:
        return None


def action_of(resource: str | None, customer_id: str) -> str | None:
    """Return the conversion action id of 'customers/{customer}/conversionActions/{id}', or None if malformed."""
    match = _ACTION.fullmatch(resource) if isinstance(resource, str) else None
    if match is None or match.group(1) != customer_id:
        return None
    return match.group(2)


def judge(rows: list, customer_id: str, conversions: dict[tuple[str, str], Conversion], now: datetime) -> list[Verdict]:
    """Judge every row in order; a row that passes is applied to `conversions` for the rows after it."""
    seen: set[tuple[str, str, datetime]] = set()
    verdicts = []
    for index, row in enumerate(rows):
        verdict = _judge_row(index, row, customer_id, conversions, now, seen)
        if verdict.error is None and verdict.conversion is not None:
            verdict.conversion.adjustments.append((verdict.adjustment_type, verdict.adjusted_at))
        verdicts.append(verdict)
    return verdicts


def _judge_row(index, row, customer_id, conversions, now, seen) -> Verdict:
    verdict = Verdict(index=index)

    def refuse(code: str, *path: str) -> Verdict:
        verdict.error, verdict.field_path = code, path
        return verdict

    if not isinstance(row, dict):
        return refuse("INVALID_VALUE")
    resource = row.get("conversionAction")
    if resource in (None, ""):
        return refuse("REQUIRED", "conversion_action")
    action_id = action_of(resource, customer_id)
    if action_id is None:
        return refuse("RESOURCE_NAME_MALFORMED", "conversion_action")
    kind = row.get("adjustmentType")
    if kind in (None, ""):
        return refuse("REQUIRED", "adjustment_type")
    if kind not in ADJUSTMENT_TYPES:
        return refuse("INVALID_VALUE", "adjustment_type")
    if kind == "ENHANCEMENT":
        return refuse("CONVERSION_ACTION_NOT_ELIGIBLE_FOR_ENHANCEMENT", "adjustment_type")
    order_id = row.get("orderId")
    if order_id in (None, "") and row.get("gclidDateTimePair") is None:
        return refuse("REQUIRED", "order_id")
    if order_id is not None and not isinstance(order_id, str):
        return refuse("INVALID_VALUE", "order_id")
    raw_time = row.get("adjustmentDateTime")
    if raw_time in (None, ""):
        return refuse("REQUIRED", "adjustment_date_time")
    adjusted_at = parse_date_time(raw_time)
    if adjusted_at is None:
        return refuse("INVALID_FIELD_VALUES_IN_DATE_TIME", "adjustment_date_time")
    if adjusted_at > now + FUTURE_SKEW:
        return refuse("LATER_THAN_MAXIMUM_DATE", "adjustment_date_time")
    if kind == "RESTATEMENT":
        restatement = row.get("restatementValue")
        raw_value = restatement.get("adjustedValue") if isinstance(restatement, dict) else None
        if raw_value is None:
            return refuse("REQUIRED", "restatement_value", "adjusted_value")
        value = _decimal(raw_value)
        if value is None:
            return refuse("INVALID_VALUE", "restatement_value", "adjusted_value")
        if value < 0:
            return refuse("TOO_LOW", "restatement_value", "adjusted_value")
        verdict.adjusted_value = value
    key = (action_id, order_id or "", adjusted_at)
    if key in seen:
        return refuse("DUPLICATE_ADJUSTMENT_IN_REQUEST", "adjustment_date_time")
    seen.add(key)
    conversion = conversions.get((action_id, order_id or ""))
    if conversion is None:
        return refuse("CONVERSION_NOT_FOUND", "order_id")
    if adjusted_at < conversion.converted_at:
        return refuse("ADJUSTMENT_PRECEDES_CONVERSION", "adjustment_date_time")
    if now - conversion.converted_at > EXPIRY:
        return refuse("CONVERSION_EXPIRED", "order_id")
    if any(done == "RETRACTION" for done, _at in conversion.adjustments):
        return refuse("CONVERSION_ALREADY_RETRACTED", "order_id")
    if kind == "RESTATEMENT" and any(
        done == "RESTATEMENT" and at == adjusted_at for done, at in conversion.adjustments
    ):
        return refuse("RESTATEMENT_ALREADY_EXISTS", "adjustment_date_time")
    if any(at >= adjusted_at for _done, at in conversion.adjustments):
        return refuse("MORE_RECENT_RESTATEMENT_FOUND", "adjustment_date_time")
    verdict.conversion, verdict.adjustment_type, verdict.adjusted_at = conversion, kind, adjusted_at
    verdict.action_id, verdict.order_id = action_id, order_id
    return verdict


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) < Decimal(10) ** 15 else None
