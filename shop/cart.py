"""The visitor's cart, kept in the Flask session as product id → quantity, and its totals."""

from dataclasses import dataclass
from decimal import Decimal

from flask import session
from sqlalchemy import select

from core.dbtypes import money
from core.inputs import optional_id
from extensions import db
from shop.models import Product
from shop.orders import SHIPPING_TAX_EXCL, SHIPPING_TAX_RATE, CartLine

SESSION_KEY = "cart"
MIN_QUANTITY = 1
MAX_QUANTITY = 99


class CartError(ValueError):
    """A cart change refused because of bad input; nothing was changed."""


@dataclass
class CartTotals:
    """What the cart costs, tax included, with the shop's flat shipping fee."""

    products_tax_incl: Decimal
    shipping_tax_incl: Decimal

    @property
    def total_tax_incl(self) -> Decimal:
        """Products and shipping."""
        return self.products_tax_incl + self.shipping_tax_incl


def parse_quantity(raw: str | None, product_name: str = "this product") -> int:
    """Return raw as a quantity from 1 to 99, or raise CartError saying what is wrong."""
    text = (raw or "").strip()
    if not text:
        raise CartError(f"Please enter a quantity for {product_name}.")
    if not text.isdecimal():
        raise CartError(f"The quantity for {product_name} must be a whole number from 1 to {MAX_QUANTITY}.")
    quantity = int(text)
    if not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
        raise CartError(f"The quantity for {product_name} must be from {MIN_QUANTITY} to {MAX_QUANTITY}.")
    return quantity


def find_product(raw_id: str | int | None) -> Product:
    """Return the active product with this id, or raise CartError."""
    try:
        product_id = optional_id(str(raw_id or ""))
    except ValueError:
        product_id = None
    product = db.session.get(Product, product_id) if product_id is not None else None
    if product is None or not product.active:
        raise CartError("That product is not available.")
    return product


def quantities() -> dict[int, int]:
    """Return the cart as product id → quantity (ignoring anything malformed in the session)."""
    raw = session.get(SESSION_KEY) or {}
    cart = {}
    for key, value in raw.items():
        if str(key).isdecimal() and isinstance(value, int) and MIN_QUANTITY <= value <= MAX_QUANTITY:
            cart[int(key)] = value
    return cart


def _save(cart: dict[int, int]) -> None:
    # JSON session keys are strings; keep them so, to read back what was written.
    session[SESSION_KEY] = {str(pid): qty for pid, qty in cart.items()}


def item_count() -> int:
    """Return how many units the cart holds."""
    return sum(quantities().values())


def add(product: Product, quantity: int) -> int:
    """Add quantity of product to the cart and return the new quantity of that product."""
    cart = quantities()
    in_cart = cart.get(product.id, 0)
    new_quantity = in_cart + quantity
    if new_quantity > MAX_QUANTITY:
        raise CartError(f"You can order at most {MAX_QUANTITY} of {product.name}; your cart already holds {in_cart}.")
    cart[product.id] = new_quantity
    _save(cart)
    return new_quantity


def set_quantities(new_quantities: dict[int, int]) -> None:
    """Replace the quantities of products already in the cart."""
    cart = quantities()
    for product_id, quantity in new_quantities.items():
        if product_id in cart:
            cart[product_id] = quantity
    _save(cart)


def remove(product_id: int) -> bool:
    """Take a product out of the cart; return whether it was there."""
    cart = quantities()
    if cart.pop(product_id, None) is None:
        return False
    _save(cart)
    return True


def clear() -> None:
    """Empty the cart."""
    session.pop(SESSION_KEY, None)


def lines() -> tuple[list[CartLine], list[str]]:
    """Return the cart's lines in catalog order, and the names of products dropped as no longer sold."""
    cart = quantities()
    if not cart:
        return [], []
    products = db.session.scalars(select(Product).where(Product.id.in_(cart)).order_by(Product.id)).all()
    kept = [CartLine(p, cart[p.id]) for p in products if p.active]
    dropped = [p.name for p in products if not p.active]
    missing = set(cart) - {p.id for p in products}
    if dropped or missing:
        _save({line.product.id: line.quantity for line in kept})
        dropped += ["A product"] * len(missing)
    return kept, dropped


def totals(cart_lines: list[CartLine]) -> CartTotals:
    """Return the cart's totals, computed as ``shop.orders.place_order`` computes the order's."""
    products = sum((line.product.price_tax_incl * line.quantity for line in cart_lines), Decimal("0.00"))
    shipping = money(SHIPPING_TAX_EXCL * (1 + SHIPPING_TAX_RATE / 100)) if cart_lines else Decimal("0.00")
    return CartTotals(products_tax_incl=products, shipping_tax_incl=shipping)
