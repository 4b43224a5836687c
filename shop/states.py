"""PrestaShop's default order states, installed by key, and the shop's own Chargeback state."""

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
# key: module_name, hidden, unremovable, pdf_invoice, pdf_delivery, e-mail template
# (install-dev/data/xml/order_state.xml and langs/en/data/order_state.xml).
DEFAULT_STATE_FIELDS = {
    "PS_OS_CHEQUE": ("ps_checkpayment", 0, 1, 0, 0, "cheque"),
    "PS_OS_PAYMENT": (None, 0, 1, 1, 0, "payment"),
    "PS_OS_PREPARATION": (None, 0, 1, 0, 0, "preparation"),
    "PS_OS_SHIPPING": (None, 0, 1, 0, 0, "shipped"),
    "PS_OS_DELIVERED": (None, 0, 1, 0, 0, None),
    "PS_OS_CANCELED": (None, 0, 1, 0, 0, "order_canceled"),
    "PS_OS_REFUND": (None, 0, 1, 0, 0, "refund"),
    "PS_OS_ERROR": (None, 0, 1, 0, 0, "payment_error"),
    "PS_OS_OUTOFSTOCK_PAID": (None, 0, 1, 0, 0, "outofstock"),
    "PS_OS_BANKWIRE": ("ps_wirepayment", 0, 1, 0, 0, "bankwire"),
    "PS_OS_WS_PAYMENT": (None, 0, 1, 0, 0, "payment"),
    "PS_OS_OUTOFSTOCK_UNPAID": (None, 0, 1, 0, 0, "outofstock"),
    "PS_OS_COD_VALIDATION": ("ps_cashondelivery", 0, 1, 0, 0, "cashondelivery"),
}
# The state a chargeback moves an order to: not PrestaShop's, so the shop adds it (by init-demo, or when the
# first chargeback arrives). Flags like Refunded: the bank gave the money back to the customer.
CHARGEBACK_KEY = "PB_OS_CHARGEBACK"
# The states a refund module fires on until the merchant chooses: the money went back to the customer.
DEFAULT_TRIGGER_KEYS = ("PS_OS_REFUND", "PS_OS_CANCELED", CHARGEBACK_KEY)
# The states whose entry confirms a payment (PrestaShop's actionPaymentConfirmation).
PAYMENT_CONFIRMATION_KEYS = ("PS_OS_PAYMENT", "PS_OS_WS_PAYMENT")


def install_default_states() -> int:
    """Add the default states that are missing (matched by key); return how many were added."""
    present = set(db.session.scalars(select(OrderState.key).where(OrderState.key.is_not(None))))
    added = 0
    for key, name, logable, invoice, paid, shipped, delivery, send_email, color in DEFAULT_STATES:
        if key in present:
            continue
        module_name, hidden, unremovable, pdf_invoice, pdf_delivery, template = DEFAULT_STATE_FIELDS[key]
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
                module_name=module_name,
                hidden=bool(hidden),
                unremovable=bool(unremovable),
                pdf_invoice=bool(pdf_invoice),
                pdf_delivery=bool(pdf_delivery),
                template=template,
            )
        )
        added += 1
    db.session.flush()
    return added


def chargeback_state() -> OrderState:
    """Return the Chargeback state, creating it (flags like Refunded: not logable, not paid) if missing."""
    state = db.session.scalar(select(OrderState).where(OrderState.key == CHARGEBACK_KEY))
    if state is None:
        state = OrderState(
            key=CHARGEBACK_KEY,
            name="Chargeback",
            color="#E74C3C",
            logable=False,
            invoice=True,
            paid=False,
            shipped=False,
            delivery=False,
            send_email=False,  # the bank, not the shop, told the customer
        )
        db.session.add(state)
        db.session.flush()
    return state
