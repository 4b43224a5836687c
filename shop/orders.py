"""Placing orders: lines and totals from the catalog, then the first state through the status service."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.dbtypes import money, utcnow
from extensions import db
from shop.models import Customer, Employee, Order, OrderLine, OrderState, Product
from shop.status import change_state

# One flat shipping fee, as a simple carrier would charge it.
SHIPPING_TAX_EXCL = Decimal("7.00")
SHIPPING_TAX_RATE = Decimal("20.00")
BROWSER_FIELDS = (
    "client_ip_address",
    "client_user_agent",
    "fbp",
    "fbc",
    "ga_client_id",
    "event_source_url",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "click_id",
)


@dataclass
class CartLine:
    """A product and a quantity to order."""

    product: Product
    quantity: int


def place_order(
    customer: Customer,
    lines: list[CartLine],
    state: OrderState,
    currency: str = "EUR",
    browser: dict | None = None,
    payment_method: str | None = None,
    employee: Employee | None = None,
    at: datetime | None = None,
) -> Order:
    """Create an order and move it into its first state (both status signals fire, old state none).

    The caller commits.
    """
    if not lines:
        raise ValueError("an order needs at least one line")
    at = at or utcnow()
    order = Order(
        reference=Order.new_reference(),
        customer=customer,
        currency=currency,
        payment_method=payment_method or ("Card" if state.paid else "Bank wire"),
        created_at=at,
        updated_at=at,
        **{name: (browser or {}).get(name) or None for name in BROWSER_FIELDS},
    )
    for line in lines:
        if line.quantity < 1:
            raise ValueError("quantities must be at least 1")
        order.lines.append(
            OrderLine(
                product_id=line.product.id,
                product_reference=line.product.reference,
                product_name=line.product.name,
                quantity=line.quantity,
                unit_price_tax_excl=line.product.price_tax_excl,
                unit_price_tax_incl=line.product.price_tax_incl,
                tax_rate=line.product.tax_rate,
            )
        )

    # The order takes its units from stock (PrestaShop sells out of stock when allowed: no refusal), as
    # one SQL decrement per product: other orders of the product may be placed at the same time.
    taken: dict[int, tuple[Product, int]] = {}
    for line in lines:
        product, units = taken.get(line.product.id, (line.product, 0))
        taken[line.product.id] = (product, units + line.quantity)
    for product, units in taken.values():
        product.quantity = Product.quantity - units
    order.total_products_tax_excl = sum((ln.unit_price_tax_excl * ln.quantity for ln in order.lines), Decimal(0))
    order.total_products_tax_incl = sum((ln.unit_price_tax_incl * ln.quantity for ln in order.lines), Decimal(0))
    order.total_shipping_tax_excl = SHIPPING_TAX_EXCL
    order.total_shipping_tax_incl = money(SHIPPING_TAX_EXCL * (1 + SHIPPING_TAX_RATE / 100))
    order.carrier_tax_rate = SHIPPING_TAX_RATE
    db.session.add(order)
    db.session.flush()
    change_state(order, state, employee, at=at)
    return order
