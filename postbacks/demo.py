"""The demo shop's postback setup: the Chargeback state, a postback token, and a few postbacks to look at.

The demo postbacks go through the real intake and processing: a partial refund, the same txid again (a
duplicate), a chargeback, and an amount more than the order has left (refused with the reason). They are
received when the demo data exists and processed once every module has set up (``demo-data-ready``), so
the chargeback reaches every module that fires on it, as in a running shop.
"""

from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from extensions import db
from postbacks import intake, settings
from postbacks.models import Postback
from postbacks.processing import chargeback_state, left_to_refund, process_pending
from shop.models import Order, OrderState
from shop.signals import demo_data_created, demo_data_ready

DEMO_ORDERS = 3


def connect() -> None:
    """Connect the demo receivers (blinker ignores a second connection)."""
    demo_data_created.connect(on_demo_data_created)
    demo_data_ready.connect(on_demo_data_ready)


def on_demo_data_created(app: Flask, **extra) -> None:
    """Install the Chargeback state and the token; the first time, receive the demo postbacks."""
    chargeback_state()
    settings.config()
    db.session.commit()
    if db.session.scalar(select(Postback.id).limit(1)) is not None:
        return
    orders = _paid_orders_with_a_click_id()
    if len(orders) < DEMO_ORDERS:
        return
    partial, charged_back, overdrawn = orders
    ten = Decimal("10.00")
    for fields in (
        _postback("DEMO-REFUND-1", partial, ten, "customer_request"),
        _postback("DEMO-REFUND-1", partial, ten, "customer_request"),
        _postback("DEMO-CB-1", charged_back, left_to_refund(charged_back), "chargeback"),
        _postback("DEMO-REFUND-2", overdrawn, left_to_refund(overdrawn) + ten, "customer_request"),
    ):
        intake.record(fields)
    db.session.commit()


def on_demo_data_ready(app: Flask, **extra) -> None:
    """Process the demo postbacks now that every module has set up."""
    process_pending()


def _paid_orders_with_a_click_id() -> list[Order]:
    """Return the newest demo orders that are paid, carry a click id and have no credit slip yet."""
    paid = select(OrderState.id).where(OrderState.paid)
    candidates = db.session.scalars(
        select(Order)
        .where(Order.click_id.is_not(None), Order.current_state_id.in_(paid))
        .order_by(Order.id.desc())
        .limit(50)
    )
    return [order for order in candidates if not order.credit_slips and left_to_refund(order) > 20][:DEMO_ORDERS]


def _postback(txid: str, order: Order, amount: Decimal, kind: str) -> dict:
    return {
        "source": "network",
        "txid": txid,
        "cid": order.click_id,
        "ref": None,
        "amount": amount,
        "kind": kind,
        "reason": intake.DEFAULT_REASON[kind],
    }
