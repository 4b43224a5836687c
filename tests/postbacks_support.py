"""Helpers shared by the postback tests: the token, sending postbacks, processing, reading what happened."""

from decimal import Decimal

from sqlalchemy import func, select

from extensions import db
from postbacks.models import Postback
from postbacks.processing import chargeback_state, process_pending
from shop.models import CreditSlip, Order


def postback_token(api) -> str:
    """Return the shop's postback token, as a merchant sees it on asking."""
    response = api.get("/api/postbacks/settings?show=1", "merchant")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["token"]


def process(app) -> int:
    """Process what is queued, as the worker does; return how many."""
    with app.app_context():
        return process_pending()


def postbacks(app) -> list[Postback]:
    """Return every postback row, oldest first (detached)."""
    with app.app_context():
        rows = list(db.session.scalars(select(Postback).order_by(Postback.id)))
        db.session.expunge_all()
        return rows


def counts(app) -> dict[str, int]:
    """Return how many postbacks, credit slips and orders exist (to prove a refusal wrote nothing)."""
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Postback, CreditSlip, Order)
        }


def order_facts(app, order_id: int) -> dict:
    """Return an order's state key, slips' total and slip count, read straight from the rows."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        slips = list(db.session.scalars(select(CreditSlip).where(CreditSlip.order_id == order_id)))
        return {
            "state": order.current_state.key,
            "valid": order.valid,
            "slips": len(slips),
            "refunded": sum((s.total_products_tax_incl + s.total_shipping_tax_incl for s in slips), Decimal("0.00")),
            "reference": order.reference,
        }


def set_click_id(app, order_id: int, click_id: str) -> None:
    """Give an order the click id its visitor had at checkout."""
    with app.app_context():
        db.session.get(Order, order_id).click_id = click_id
        db.session.commit()


def chargeback_state_id(app) -> int:
    """Return the id of the Chargeback state, installing it as processing would."""
    with app.app_context():
        state_id = chargeback_state().id
        db.session.commit()
        return state_id
