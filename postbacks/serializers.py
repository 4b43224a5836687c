"""Postbacks as JSON: money as strings with two decimals, times ISO 8601 UTC."""

from postbacks.models import Postback
from shop.serializers import money_str, time_str


def postback_json(postback: Postback) -> dict:
    """Return a postback with its outcome."""
    return {
        "id": postback.id,
        "source": postback.source,
        "txid": postback.txid,
        "type": postback.kind,
        "reason": postback.reason,
        "cid": postback.cid,
        "ref": postback.ref,
        "event_type": postback.event_type,
        "charge_id": postback.charge_id,
        "amount": money_str(postback.amount) if postback.amount is not None else None,
        "currency": postback.currency,
        "status": postback.status,
        "outcome": postback.outcome,
        "order_id": postback.order_id,
        "refunded": money_str(postback.refunded) if postback.refunded is not None else None,
        "credit_slip_id": postback.credit_slip_id,
        "received_at": time_str(postback.received_at),
        "processed_at": time_str(postback.processed_at),
    }
