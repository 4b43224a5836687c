"""PrestaShop's default order states, installed by key."""

from sqlalchemy import select

from extensions import db
from shop.models import OrderState

# key, name, logable, invoice, paid, shipped, delivery, send_email, color (PrestaShop 1.7/8 install).
DEFAULT_STATES = [
    ("PS_OS_CHEQUE", "Awaiting check payment", 0, 0, 0, 0, 0, 1, "#34209E"),
    ("PS_OS_PAYMENT", "Payment accepted", 1, 1, 1, 0, 0, 1, "#3498D8"),
    ("PS_OS_PREPARATION", "Processing in progress", 1, 1, 1, 0, 1, 1, "#3498D8"),
    ("PS_OS_SHIPPING", "Shipped", 1, 1, 1, 1, 1, 1, "#01B887"),
    ("PS_OS_DELIVERED", "Delivered", 1, 1, 1, 1, 1, 0, "#01B887"),
    ("PS_OS_CANCELED", "Canceled", 0, 0, 0, 0, 0, 1, "#2C3E50"),
    ("PS_OS_REFUND", "Refunded", 0, 1, 0, 0, 0, 1, "#01B887"),
    ("PS_OS_ERROR", "Payment error", 0, 0, 0, 0, 0, 1, "#E74C3C"),
    ("PS_OS_OUTOFSTOCK_PAID", "On backorder (paid)", 0, 1, 1, 0, 0, 1, "#3498D8"),
    ("PS_OS_BANKWIRE", "Awaiting bank wire payment", 0, 0, 0, 0, 0, 1, "#34209E"),
    ("PS_OS_WS_PAYMENT", "Remote payment accepted", 1, 1, 1, 0, 0, 1, "#3498D8"),
    ("PS_OS_OUTOFSTOCK_UNPAID", "On backorder (not paid)", 0, 0, 0, 0, 0, 1, "#34209E"),
    ("PS_OS_COD_VALIDATION", "Awaiting Cash On Delivery validation", 0, 0, 0, 0, 0, 0, "#34209E"),
]


def install_default_states() -> int:
    """Add the default states that are missing (matched by key); return how many were added."""
    present = set(db.session.scalars(select(OrderState.key).where(OrderState.key.is_not(None))))
    added = 0
    for key, name, logable, invoice, paid, shipped, delivery, send_email, color in DEFAULT_STATES:
        if key in present:
            continue
        db.session.add(
            OrderState(
                key=key,
                name=name,
                logable=bool(logable),
                invoice=bool(invoice),
                paid=bool(paid),
                shipped=bool(shipped),
                delivery=bool(delivery),
                send_email=bool(send_email),
                color=color,
            )
        )
        added += 1
    db.session.flush()
    return added
