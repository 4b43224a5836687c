"""What a Refund event reports: the refunded amount and lines, less what earlier events reported.

The rule (DOMAIN.md §2, ours): the refunded amount is the sum of the order's credit slips when it has
any, otherwise the order total; tax and shipping are in or out per the settings. Earlier Refund events
of the order (pending, sent or failed alike: a failed one may be resent with its event id) are
subtracted, so Canceled followed by Refunded never reports the money twice. Earlier events are taken
to cover the oldest credit slips first; the lines of the slips they do not cover are the lines reported.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from extensions import db
from pixelplus.models import OutboxEvent
from pixelplus.settings import RefundSettings
from shop.models import CreditSlip, Order, OrderLine

REFUND_EVENT = "Refund"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RefundedLine:
    """Units of one order line being reported, at the unit price the settings ask for."""

    product_id: int
    product_reference: str
    quantity: int
    item_price: Decimal


@dataclass(frozen=True)
class Refund:
    """The refund an event would report: what is left once earlier events are subtracted."""

    value: Decimal  # may be zero or less: then there is nothing left to report
    currency: str
    lines: tuple[RefundedLine, ...]
    basis: str  # in words: "order total", "credit slips", "credit slip #3"
    already_reported: Decimal

    @property
    def num_items(self) -> int:
        """The number of units reported."""
        return sum(line.quantity for line in self.lines)


def already_reported(order_id: int) -> Decimal:
    """Return the sum of the values of the order's earlier Refund events, whatever their status."""
    values = db.session.scalars(
        select(OutboxEvent.value).where(OutboxEvent.order_id == order_id, OutboxEvent.event_name == REFUND_EVENT)
    )
    return sum((value for value in values if value is not None), ZERO)


def refund_count(order_id: int) -> int:
    """Return how many Refund events the order already has."""
    return db.session.scalar(
        select(func.count()).where(OutboxEvent.order_id == order_id, OutboxEvent.event_name == REFUND_EVENT)
    )


def order_value(order: Order, settings: RefundSettings) -> Decimal:
    """Return the order total per the tax and shipping settings (discounts deducted)."""
    if settings.value_tax_incl:
        value = order.total_products_tax_incl - order.total_discounts_tax_incl
        shipping = order.total_shipping_tax_incl
    else:
        value = order.total_products_tax_excl - order.total_discounts_tax_excl
        shipping = order.total_shipping_tax_excl
    return value + shipping if settings.value_shipping_incl else value


def slip_value(slip: CreditSlip, settings: RefundSettings) -> Decimal:
    """Return a credit slip's amount per the tax and shipping settings."""
    if settings.value_tax_incl:
        products, shipping = slip.total_products_tax_incl, slip.total_shipping_tax_incl
    else:
        products, shipping = slip.total_products_tax_excl, slip.total_shipping_tax_excl
    return products + shipping if settings.value_shipping_incl else products


def _line(order_line: OrderLine, quantity: int, settings: RefundSettings) -> RefundedLine:
    price = order_line.unit_price_tax_incl if settings.value_tax_incl else order_line.unit_price_tax_excl
    return RefundedLine(order_line.product_id, order_line.product_reference, quantity, price)


def order_lines(order: Order, settings: RefundSettings) -> tuple[RefundedLine, ...]:
    """Return every line of the order, in full (a full refund)."""
    return tuple(_line(line, line.quantity, settings) for line in order.lines)


def slip_lines(slips: Iterable[CreditSlip], settings: RefundSettings) -> tuple[RefundedLine, ...]:
    """Return the lines the slips refund, one per order line, quantities added up."""
    quantities: dict[int, int] = {}
    order_line_of: dict[int, OrderLine] = {}
    for slip in slips:
        for row in slip.lines:
            quantities[row.order_line_id] = quantities.get(row.order_line_id, 0) + row.quantity
            order_line_of[row.order_line_id] = row.order_line
    return tuple(_line(order_line_of[i], qty, settings) for i, qty in quantities.items() if qty)


def refund_for_status_change(order: Order, settings: RefundSettings, reported: Decimal) -> Refund:
    """Return what a refund status change reports: the slips (or the order total) less what was reported."""
    slips = list(order.credit_slips)
    if not slips:
        value = order_value(order, settings)
        return Refund(value - reported, order.currency, order_lines(order, settings), "order total", reported)
    total = sum((slip_value(slip, settings) for slip in slips), ZERO)
    uncovered = _uncovered_slips(slips, reported, settings) or slips
    return Refund(total - reported, order.currency, slip_lines(uncovered, settings), "credit slips", reported)


def refund_for_credit_slip(order: Order, slip: CreditSlip, settings: RefundSettings, reported: Decimal) -> Refund:
    """Return what one new credit slip reports: its amount, capped at what is left unreported."""
    total = sum((slip_value(s, settings) for s in order.credit_slips), ZERO)
    value = min(slip_value(slip, settings), total - reported)
    return Refund(value, order.currency, slip_lines([slip], settings), f"credit slip #{slip.id}", reported)


def _uncovered_slips(slips: list[CreditSlip], reported: Decimal, settings: RefundSettings) -> list[CreditSlip]:
    """Return the slips earlier events did not cover, taking those events to cover the oldest first."""
    covered = ZERO
    uncovered = []
    for slip in slips:
        covered += slip_value(slip, settings)
        if covered > reported:
            uncovered.append(slip)
    return uncovered
