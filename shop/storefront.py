"""The storefront (/): catalog, cart, checkout that captures the browser data, and the confirmation."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from sqlalchemy import select

from core.inputs import optional_id
from extensions import db
from shop import cart, tracking
from shop.checkout import CARD, CheckoutForm, place_storefront_order
from shop.models import Order, Product

bp = Blueprint("storefront", __name__)
bp.before_request(tracking.capture_landing)
bp.after_request(tracking.set_tracking_cookies)

CURRENCY = "EUR"
PLACED_ORDERS_KEY = "placed_orders"  # references this browser may see a confirmation for
PLACED_ORDERS_KEPT = 10
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
DEFAULT_BANK_WIRE = {
    "owner": "Mini-shop SAS (demo)",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "bic": "AGRIFRPP",
    "bank": "Demo Bank, Paris",
}


@bp.record_once
def _on_register(state):
    tracking.init_app(state.app)


@bp.context_processor
def _storefront_helpers():
    return {
        "shop_name": current_app.config.get("SHOP_NAME", "Mini-shop"),
        "cart_item_count": cart.item_count(),
        "format_price": format_price,
    }


def format_price(amount, currency: str = CURRENCY) -> str:
    """Return an amount with its currency, like €23.88."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


@bp.get("/")
def catalog():
    """Show the active products."""
    products = db.session.scalars(select(Product).where(Product.active).order_by(Product.name, Product.id)).all()
    return render_template("shop/catalog.html", products=products, max_quantity=cart.MAX_QUANTITY)


@bp.post("/cart/add")
def cart_add():
    """Add a quantity of a product to the cart."""
    try:
        product = cart.find_product(request.form.get("product_id"))
        quantity = cart.parse_quantity(request.form.get("quantity", "1"), product.name)
        cart.add(product, quantity)
    except cart.CartError as error:
        flash(str(error), "danger")
    else:
        flash(f"Added {quantity} × {product.name} to your cart.", "success")
    return redirect(url_for("storefront.catalog"))


@bp.get("/cart")
def cart_page():
    """Show the cart with its totals."""
    lines = _cart_lines()
    return render_template(
        "shop/cart.html", lines=lines, totals=cart.totals(lines), currency=CURRENCY, max_quantity=cart.MAX_QUANTITY
    )


@bp.post("/cart/update")
def cart_update():
    """Change the quantities of the products in the cart; nothing changes if one is invalid."""
    lines, _ = cart.lines()
    new_quantities, errors = {}, []
    for line in lines:
        raw = request.form.get(f"quantity-{line.product.id}")
        if raw is None:
            continue
        try:
            new_quantities[line.product.id] = cart.parse_quantity(raw, line.product.name)
        except cart.CartError as error:
            errors.append(str(error))
    if errors:
        for message in errors:
            flash(message, "danger")
        flash("Your cart was not changed. Use Remove to take a product out.", "warning")
    elif new_quantities:
        cart.set_quantities(new_quantities)
        flash("Your cart was updated.", "success")
    return redirect(url_for("storefront.cart_page"))


@bp.post("/cart/remove")
def cart_remove():
    """Take a product out of the cart."""
    try:
        product_id = optional_id(request.form.get("product_id"))
    except ValueError:
        product_id = None
    product = db.session.get(Product, product_id) if product_id is not None else None
    if product_id is not None and cart.remove(product_id):
        flash(f"{product.name if product else 'The product'} was removed from your cart.", "success")
    else:
        flash("That product is not in your cart.", "warning")
    return redirect(url_for("storefront.cart_page"))


@bp.route("/checkout", methods=["GET", "POST"])
def checkout():
    """Take the customer's details and payment, then place the order."""
    lines = _cart_lines()
    if not lines:
        flash("Your cart is empty: add a product before checking out.", "warning")
        return redirect(url_for("storefront.cart_page"))
    form = CheckoutForm()
    if form.validate_on_submit():
        order = place_storefront_order(form, lines, tracking.browser_data(), CURRENCY)
        cart.clear()
        placed = [order.reference, *session.get(PLACED_ORDERS_KEY, [])]
        session[PLACED_ORDERS_KEY] = placed[:PLACED_ORDERS_KEPT]
        return redirect(url_for("storefront.confirmation", reference=order.reference))
    if form.is_submitted():
        flash("Please correct the fields marked below; no order was placed.", "danger")
    form.forget_card()
    return render_template(
        "shop/checkout.html",
        form=form,
        lines=lines,
        totals=cart.totals(lines),
        currency=CURRENCY,
        card=CARD,
    )


@bp.get("/order-confirmation/<reference>")
def confirmation(reference: str):
    """Confirm an order placed from this browser, with bank wire instructions when it awaits them."""
    if reference not in session.get(PLACED_ORDERS_KEY, []):
        abort(404)
    order = db.session.scalar(select(Order).filter_by(reference=reference))
    if order is None:
        abort(404)
    bank_wire = {**DEFAULT_BANK_WIRE, **current_app.config.get("SHOP_BANK_WIRE", {})}
    return render_template(
        "shop/confirmation.html",
        order=order,
        awaiting_bank_wire=order.current_state is not None and order.current_state.key == "PS_OS_BANKWIRE",
        bank_wire=bank_wire,
    )


def _cart_lines():
    """Return the cart's lines, telling the visitor about products no longer sold."""
    lines, dropped = cart.lines()
    for name in dropped:
        flash(f"{name} is no longer available and was removed from your cart.", "warning")
    return lines
