"""How much an order or a credit slip is worth to a destination: tax and shipping in or out.

Discounts are deducted from the order's products. Lines are reported at the unit price the same
settings ask for.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ValueSettings:
    """Whether a destination's values include tax and shipping (as its Purchase event does)."""

    tax_incl: bool = True
    shipping_incl: bool = True

    def describe(self) -> str:
        """Say it in words: ``tax incl., shipping incl.``."""
        tax = "tax incl." if self.tax_incl else "tax excl."
        shipping = "shipping incl." if self.shipping_incl else "shipping excl."
        return f"{tax}, {shipping}"


@dataclass(frozen=True)
class RefundedLine:
    """Units of one order line being reported, at the unit price the settings ask for."""

    product_id: int
    product_reference: str
    quantity: int
    item_price: Decimal


def order_value(order, settings: ValueSettings) -> Decimal:
    """Return the order total per the settings (discounts deducted)."""
    if settings.tax_incl:
        value = order.total_products_tax_incl - order.total_discounts_tax_incl
        shipping = order.total_shipping_tax_incl
    else:
        value = order.total_products_tax_excl - order.total_discounts_tax_excl
        shipping = order.total_shipping_tax_excl
    return value + shipping if settings.shipping_incl else value


def slip_value(slip, settings: ValueSettings) -> Decimal:
    """Return a credit slip's amount per the settings (its total_* columns are the truth)."""
    if settings.tax_incl:
        products, shipping = slip.total_products_tax_incl, slip.total_shipping_tax_incl
    else:
        products, shipping = slip.total_products_tax_excl, slip.total_shipping_tax_excl
    return products + shipping if settings.shipping_incl else products


def slips_value(slips: Iterable, settings: ValueSettings) -> Decimal:
    """Return the sum of the slips' amounts."""
    return sum((slip_value(slip, settings) for slip in slips), ZERO)


def line(order_line, quantity: int, settings: ValueSettings) -> RefundedLine:
    """Return quantity units of an order line at the unit price the settings ask for."""
    price = order_line.unit_price_tax_incl if settings.tax_incl else order_line.unit_price_tax_excl
    return RefundedLine(order_line.product_id, order_line.product_reference, quantity, price)


def slip_quantities(slips: Iterable) -> dict[int, int]:
    """Return {order line id: units} the slips refund, added up."""
    quantities: dict[int, int] = {}
    for slip in slips:
        for row in slip.lines:
            quantities[row.order_line_id] = quantities.get(row.order_line_id, 0) + row.quantity
    return quantities


def slip_lines(slips: Iterable, settings: ValueSettings) -> tuple[RefundedLine, ...]:
    """Return the lines the slips refund, one per order line, in order-line order."""
    slips = list(slips)
    quantities = slip_quantities(slips)
    order_lines = {row.order_line_id: row.order_line for slip in slips for row in slip.lines}
    return tuple(line(order_lines[i], qty, settings) for i, qty in quantities.items() if qty > 0)


def remaining_lines(order, reported_slips: Iterable, settings: ValueSettings) -> tuple[RefundedLine, ...]:
    """Return the order's lines less the units of the slips already reported."""
    reported = slip_quantities(reported_slips)
    rows = ((row, row.quantity - reported.get(row.id, 0)) for row in order.lines)
    return tuple(line(row, quantity, settings) for row, quantity in rows if quantity > 0)
