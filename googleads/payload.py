"""A Google Ads conversion adjustment, built at decision time and stored on the outbox row exactly as sent.

Full refund → RETRACTION; partial → RESTATEMENT to the order's **new total** (what is left after every
refund so far), never the refunded delta. `adjustmentDateTime` is the change's time in the account's
time zone, "yyyy-mm-dd hh:mm:ss+hh:mm", and always later than the previous adjustment of the same order
(Google refuses an adjustment not later than one it already has: MORE_RECENT_RESTATEMENT_FOUND).
The conversion is named by `orderId`: the order reference, as the storefront's conversion tag sends it.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

RETRACTION, RESTATEMENT = "RETRACTION", "RESTATEMENT"
RETRACT, RESTATE = "RETRACT", "RESTATE"  # the offline-adjustment template's words
EVENT_NAMES = {RETRACTION: "Retraction", RESTATEMENT: "Restatement"}
CONVERSION_WINDOW = timedelta(days=54)


def google_date_time(at: datetime, zone: ZoneInfo) -> str:
    """Return at in zone as 'yyyy-mm-dd hh:mm:ss+hh:mm'."""
    local = at.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S}{offset[:3]}:{offset[3:]}"


def parse_google_date_time(text: str) -> datetime:
    """Return 'yyyy-mm-dd hh:mm:ss+hh:mm' as an aware datetime."""
    return datetime.fromisoformat(text)


def adjustment_time(at: datetime, previous: datetime | None) -> datetime:
    """Return the adjustment's time: the change's, or one second after the order's previous adjustment."""
    at = at.replace(microsecond=0)
    if previous is not None and at <= previous:
        return previous + timedelta(seconds=1)
    return at


def adjustment(settings, order, kind: str, at: datetime, new_total: Decimal | None) -> dict:
    """Return the ConversionAdjustment (REST, camelCase) for order."""
    row: dict = {
        "conversionAction": settings.conversion_action,
        "adjustmentType": kind,
        "adjustmentDateTime": google_date_time(at, settings.zone),
        "orderId": order.reference,
    }
    if kind == RESTATEMENT:
        row["restatementValue"] = {"adjustedValue": new_total, "currencyCode": order.currency}
    return row


def request_body(rows: list[dict], validate_only: bool = False) -> dict:
    """Return an uploadConversionAdjustments body; partialFailure is required by Google for this method."""
    body: dict = {"conversionAdjustments": rows, "partialFailure": True}
    if validate_only:
        body["validateOnly"] = True
    return body


def adjustment_json(row: dict) -> str:
    """Serialize an adjustment exactly: amounts digit for digit, never via float."""
    from delivery.jsontext import dumps

    return dumps(row)
