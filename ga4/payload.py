"""The GA4 `refund` event, built once at decision time and stored on the outbox row exactly as sent.

- `transaction_id`: the order's reference or id (the purchase's transaction_id, per the settings).
- `value` positive + `currency`; no `items` for a full refund, only the refunded lines for a partial one.
- `timestamp_micros` (16 digits) when the change is less than 72 hours old: GA4 dates an older event
  72 hours back at best, so it is left out and the event counts when it arrives (the decision says so).
The request's `client_id` is the order's (from the _ga cookie); an order that has none gets a stable id
made from the order, since GA4 matches a refund to its purchase by transaction_id, not by client.
"""

from datetime import UTC, datetime, timedelta

from refunding import FULL, Refund

EVENT_NAME = "refund"
TIMESTAMP_WINDOW = timedelta(hours=72)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def transaction_id(order, source: str) -> str:
    """Return the transaction_id of the order's purchase."""
    return str(order.id) if source == "id" else order.reference


def client_id(order) -> tuple[str, bool]:
    """Return (the order's GA client id, whether it came from the _ga cookie)."""
    if order.ga_client_id:
        return order.ga_client_id, True
    return f"{order.id}.{int(order.created_at.timestamp())}", False


def timestamp_micros(at: datetime) -> int:
    """Return at as Unix microseconds (16 digits for any date since 2001)."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def refund_event(order, refund: Refund, settings, at: datetime, now: datetime, reason: str | None = None) -> dict:
    """Return the refund event for the outbox (one entry of the request's events).

    The refund's reason, when given, is the custom parameter ``refund_reason`` (a custom dimension can
    report on it); the free-text note is never sent (Google forbids personal data in parameters).
    """
    params: dict = {
        "transaction_id": transaction_id(order, settings.transaction_id_source),
        "value": refund.value,
        "currency": refund.currency,
    }
    if reason:
        params["refund_reason"] = reason
    if refund.kind != FULL:
        names = {line.product_id: line.product_name for line in order.lines}
        params["items"] = [
            {
                "item_id": str(line.product_id) if settings.item_id_source == "id" else line.product_reference,
                "item_name": names.get(line.product_id) or line.product_reference,
                "quantity": line.quantity,
                "price": line.item_price,
            }
            for line in refund.lines
        ]
    event: dict = {"name": EVENT_NAME, "params": params}
    if now - at <= TIMESTAMP_WINDOW:
        event["timestamp_micros"] = timestamp_micros(at)
    return event


def timestamp_note(at: datetime, now: datetime) -> str:
    """Say whether the event carries the change's time, and why not when it does not."""
    if now - at <= TIMESTAMP_WINDOW:
        return "timestamp_micros set to the change's time"
    return (
        f"no timestamp_micros: the change is dated {at:%Y-%m-%d %H:%M} UTC, more than 72 h ago, "
        "and GA4 would move it to 72 h ago; the refund counts when it arrives"
    )


def request_body(client: str, events: list[dict]) -> dict:
    """Return a Measurement Protocol request body for events of one client."""
    return {"client_id": client, "events": events}


def event_json(event: dict) -> str:
    """Serialize an event exactly: amounts digit for digit, never via float."""
    from delivery.jsontext import dumps

    return dumps(event)
