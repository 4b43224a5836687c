"""The offline-adjustment CSV, in Google's import template, for merchants who upload adjustments by hand.

    Parameters:TimeZone=Europe/Paris
    Order ID,Conversion Name,Adjustment Time,Adjustment Type,Adjusted Value,Adjusted Value Currency

One line per adjustment the module recorded (RETRACT / RESTATE; the value only for a restatement), times
in the account's time zone as "yyyy-mm-dd hh:mm:ss". Every cell is spreadsheet-safe.
"""

import io
import json

from sqlalchemy import select

from core.csvsafe import csv_line
from delivery.models import OutboxEvent
from extensions import db
from googleads import payload

HEADER = (
    "Order ID",
    "Conversion Name",
    "Adjustment Time",
    "Adjustment Type",
    "Adjusted Value",
    "Adjusted Value Currency",
)
TEMPLATE_TYPES = {payload.RETRACTION: payload.RETRACT, payload.RESTATEMENT: payload.RESTATE}


def adjustments_csv(settings, destination: str) -> str:
    """Return every recorded adjustment in Google's offline-adjustment template."""
    out = io.StringIO()
    out.write(f"Parameters:TimeZone={settings.time_zone}\r\n")
    out.write(csv_line(HEADER))
    rows = db.session.execute(
        select(OutboxEvent.payload_json).where(OutboxEvent.destination == destination).order_by(OutboxEvent.id)
    )
    for (text,) in rows:
        row = json.loads(text)
        kind = row.get("adjustmentType")
        when = payload.parse_google_date_time(row["adjustmentDateTime"]).astimezone(settings.zone)
        value = row.get("restatementValue") or {}
        out.write(
            csv_line(
                [
                    row.get("orderId"),
                    settings.conversion_name,
                    f"{when:%Y-%m-%d %H:%M:%S}",
                    TEMPLATE_TYPES.get(kind, kind),
                    value.get("adjustedValue", ""),
                    value.get("currencyCode", ""),
                ]
            )
        )
    return out.getvalue()
