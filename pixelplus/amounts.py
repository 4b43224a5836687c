"""What a Refund event reports: the shared refund rules (``refunding``) fed with what Pixel Plus already reported.

Pixel Plus's "already reported" is the sum of the values of the order's earlier Refund events,
whatever their status (a failed one may be resent with its event id), so Canceled followed by
Refunded never reports the money twice, and a full refund after a reported credit slip reports the rest.
"""

from decimal import Decimal

from delivery import reported
from pixelplus.models import META_CAPI
from pixelplus.settings import RefundSettings
from refunding import Refund, credit_slip_refund, left_to_report
from shop.models import CreditSlip, Order, OrderState

REFUND_EVENT = "Refund"
ZERO = Decimal("0.00")


def already_reported(order_id: int) -> Decimal:
    """Return the sum of the values of the order's earlier Refund events, whatever their status."""
    return reported.reported(META_CAPI, order_id, event_name=REFUND_EVENT)


def refund_count(order_id: int) -> int:
    """Return how many Refund events the order already has."""
    return len(reported.rows_of(META_CAPI, order_id, event_name=REFUND_EVENT))


def refund_for_status_change(order: Order, state: OrderState, settings: RefundSettings, reported: Decimal) -> Refund:
    """Return what a trigger state reports: what is left of the order (full) or the unreported slips (partial)."""
    return left_to_report(order, settings.kind_of(state), settings.value_settings, reported)


def refund_for_credit_slip(order: Order, slip: CreditSlip, settings: RefundSettings, reported: Decimal) -> Refund:
    """Return what one new credit slip reports (FCTP_REFUND_ON_CREDIT_SLIP)."""
    return credit_slip_refund(order, slip, settings.value_settings, reported)
