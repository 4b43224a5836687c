"""The default order states: PrestaShop's flags, found by key, installed once."""

import pytest
from sqlalchemy import func, select

from extensions import db
from shop.models import OrderState
from shop.states import install_default_states

# DOMAIN §1.1, written out here on purpose (not imported from shop.states), so a typo there fails.
# key: (name, logable, invoice, paid, shipped, delivery, send_email, color)
EXPECTED = {
    "PS_OS_CHEQUE": ("Awaiting check payment", 0, 0, 0, 0, 0, 1, "#34209E"),
    "PS_OS_PAYMENT": ("Payment accepted", 1, 1, 1, 0, 0, 1, "#3498D8"),
    "PS_OS_PREPARATION": ("Processing in progress", 1, 1, 1, 0, 1, 1, "#3498D8"),
    "PS_OS_SHIPPING": ("Shipped", 1, 1, 1, 1, 1, 1, "#01B887"),
    "PS_OS_DELIVERED": ("Delivered", 1, 1, 1, 1, 1, 0, "#01B887"),
    "PS_OS_CANCELED": ("Canceled", 0, 0, 0, 0, 0, 1, "#2C3E50"),
    "PS_OS_REFUND": ("Refunded", 0, 1, 0, 0, 0, 1, "#01B887"),
    "PS_OS_ERROR": ("Payment error", 0, 0, 0, 0, 0, 1, "#E74C3C"),
    "PS_OS_OUTOFSTOCK_PAID": ("On backorder (paid)", 0, 1, 1, 0, 0, 1, "#3498D8"),
    "PS_OS_BANKWIRE": ("Awaiting bank wire payment", 0, 0, 0, 0, 0, 1, "#34209E"),
    "PS_OS_WS_PAYMENT": ("Remote payment accepted", 1, 1, 1, 0, 0, 1, "#3498D8"),
    "PS_OS_OUTOFSTOCK_UNPAID": ("On backorder (not paid)", 0, 0, 0, 0, 0, 1, "#34209E"),
    "PS_OS_COD_VALIDATION": ("Awaiting Cash On Delivery validation", 0, 0, 0, 0, 0, 0, "#34209E"),
}


# PrestaShop's install-dev/data/xml/order_state.xml and langs/en/data/order_state.xml, written out:
# key: (module_name, hidden, unremovable, pdf_invoice, pdf_delivery, template)
EXPECTED_MORE = {
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


@pytest.mark.parametrize("key", EXPECTED_MORE)
def test_default_state_prestashop_fields(app_ctx, key):
    module_name, hidden, unremovable, pdf_invoice, pdf_delivery, template = EXPECTED_MORE[key]
    state = OrderState.by_key(key)
    assert (state.module_name, state.template) == (module_name, template)
    assert (state.hidden, state.unremovable, state.pdf_invoice, state.pdf_delivery) == (
        bool(hidden),
        bool(unremovable),
        bool(pdf_invoice),
        bool(pdf_delivery),
    )


@pytest.mark.parametrize("key", EXPECTED)
def test_default_state_flags(app_ctx, key):
    name, logable, invoice, paid, shipped, delivery, send_email, color = EXPECTED[key]
    state = OrderState.by_key(key)
    assert state.name == name
    assert (state.logable, state.invoice, state.paid, state.shipped, state.delivery, state.send_email) == (
        bool(logable),
        bool(invoice),
        bool(paid),
        bool(shipped),
        bool(delivery),
        bool(send_email),
    )
    assert state.color == color
    assert not state.is_custom


def test_exactly_the_thirteen_default_states(app_ctx):
    keys = set(db.session.scalars(select(OrderState.key)))
    assert keys == set(EXPECTED)


def test_unknown_key_is_an_error(app_ctx):
    with pytest.raises(LookupError):
        OrderState.by_key("PS_OS_NOPE")


def test_installing_twice_adds_nothing(app_ctx):
    before = db.session.scalar(select(func.count()).select_from(OrderState))
    assert install_default_states() == 0
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OrderState)) == before == 13


def test_states_found_by_key_not_by_id(app_ctx):
    """A shop whose states have other ids (a custom state created first) still finds them by key."""
    db.session.execute(OrderState.__table__.delete())
    db.session.add(OrderState(name="Returned"))
    db.session.flush()
    assert install_default_states() == 13
    db.session.commit()
    refunded = OrderState.by_key("PS_OS_REFUND")
    assert refunded.name == "Refunded" and refunded.id != 7
    assert OrderState.by_key("PS_OS_CHEQUE").id != 1
