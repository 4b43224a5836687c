"""Helpers shared by the Pixel Plus tests: configure the module, change states, read what it recorded."""

import json
from decimal import Decimal

from sqlalchemy import select

from extensions import db
from pixelplus.models import META_CAPI, Decision, OutboxEvent
from pixelplus.settings import save_settings
from shop.models import Order, OrderState
from shop.refunds import issue_credit_slip
from shop.status import change_state
from tests.conftest import GRAPH_VERSION

PIXEL_ID = "1234567890123456"
TOKEN = "EAABtestTokenForPixelPlusTests0000000000000000000000000000Zq9x2Q"


def configure(app, **changes) -> None:
    """Enable the module (pixel id and token set) with these setting changes."""
    with app.app_context():
        save_settings({"enabled": True, "pixel_id": PIXEL_ID, "access_token": TOKEN} | changes)
        db.session.commit()


def use_sandbox(app, base_url: str, **changes) -> None:
    """Enable the module against the sandbox served at base_url, with the demo pixel and token."""
    sandbox = {
        "pixel_id": app.config["DEMO_PIXEL_ID"],
        "access_token": app.config["DEMO_ACCESS_TOKEN"],
        "graph_url": f"{base_url}/sandbox/graph",
        "api_version": GRAPH_VERSION,
    }
    configure(app, **(sandbox | changes))


def state_id(app, key_or_name: str) -> int:
    """Return the id of a default state by key, or of a custom state by name."""
    with app.app_context():
        state = db.session.scalar(
            select(OrderState).where((OrderState.key == key_or_name) | (OrderState.name == key_or_name))
        )
        return state.id


def add_state(app, name: str, paid: bool = False, logable: bool = False) -> int:
    """Create a merchant's custom state and return its id."""
    with app.app_context():
        state = OrderState(name=name, paid=paid, logable=logable, send_email=True)
        db.session.add(state)
        db.session.commit()
        return state.id


def change(app, order_id: int, key_or_name: str, at=None) -> None:
    """Move an order to a state through the shop's status service, and commit."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        state = db.session.get(OrderState, state_id(app, key_or_name))
        change_state(order, state, at=at)
        db.session.commit()


def slip(app, order_id: int, quantities_by_index: dict[int, int], shipping: bool = False) -> int:
    """Issue a credit slip for {line index: units}; return its id."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        credit_slip = issue_credit_slip(
            order, {order.lines[i].id: qty for i, qty in quantities_by_index.items()}, refund_shipping=shipping
        )
        db.session.commit()
        return credit_slip.id


def decisions(app, order_id: int) -> list[Decision]:
    """Return the order's Pixel Plus decisions, oldest first (detached, attributes loaded)."""
    with app.app_context():
        mine = (Decision.order_id == order_id) & (Decision.destination == META_CAPI)
        rows = list(db.session.scalars(select(Decision).where(mine).order_by(Decision.id)))
        db.session.expunge_all()
        return rows


def events(app, order_id: int) -> list[OutboxEvent]:
    """Return the order's Meta outbox events, oldest first (detached, attributes loaded)."""
    with app.app_context():
        mine = (OutboxEvent.order_id == order_id) & (OutboxEvent.destination == META_CAPI)
        rows = list(db.session.scalars(select(OutboxEvent).where(mine).order_by(OutboxEvent.id)))
        db.session.expunge_all()
        return rows


def payload_of(event: OutboxEvent) -> dict:
    """Parse a stored payload with exact decimals."""
    return json.loads(event.payload_json, parse_float=Decimal)
