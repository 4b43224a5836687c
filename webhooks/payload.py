"""The `transaction.refunded` event, in the donation platform's shape translated to the shop.

The order is the transaction; amounts are integers in the currency's smallest unit (cents), as the
seed's are. The body is written once, into the outbox row, and sent byte for byte at every attempt.
"""

from datetime import datetime
from decimal import Decimal

from delivery.jsontext import dumps
from postbacks.intake import ZERO_DECIMAL_CURRENCIES
from refunding import FULL, Refund, ValueSettings, order_value
from shop.reasons import REASONS
from webhooks.endpoints import REFUNDED

# The transaction's amount is what the customer paid: tax and shipping included.
VALUE_SETTINGS = ValueSettings(tax_incl=True, shipping_incl=True)
DEFAULT_REASON = "requested_by_customer"


def minor_units(amount: Decimal, currency: str) -> int:
    """Return amount in the currency's smallest unit (59.90 EUR → 5990; 500 JPY → 500)."""
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return int(amount.quantize(Decimal("1")))
    return int((amount * 100).quantize(Decimal("1")))


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def refund_event(
    order,
    refund: Refund,
    event_id: str,
    refund_id: str,
    at: datetime,
    reason: str | None,
    note: str | None,
    account: str,
) -> dict:
    """Return the event for a refund of order, reported at `at`."""
    paid = order_value(order, VALUE_SETTINGS)
    fully = refund.kind == FULL or refund.value + refund.already_reported >= paid
    customer = order.customer
    return {
        "id": event_id,
        "type": REFUNDED,
        "created_at": _time(at),
        "data": {
            "id": order.reference,
            "amount": minor_units(paid, order.currency),
            "gross_amount": minor_units(paid, order.currency),
            "currency": order.currency,
            "status": "refunded" if fully else "partially_refunded",
            "type": "order",
            "payment_method": order.payment_method,
            "refund": {
                "id": refund_id,
                "amount": minor_units(refund.value, order.currency),
                "reason": reason if reason in REASONS else DEFAULT_REASON,
                "note": note,
                "refunded_at": _time(at),
            },
            "customer": {
                "id": f"cust_{customer.id}",
                "first_name": customer.firstname,
                "last_name": customer.lastname,
                "email": customer.email,
                "phone": customer.phone,
            },
            "created_at": _time(order.created_at),
            "updated_at": _time(at),
        },
        "account_id": account,
    }


def event_json(event: dict) -> str:
    """Return the exact body sent for event."""
    return dumps(event)
