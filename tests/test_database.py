"""The database layer: transactions and savepoints behave the same on SQLite and PostgreSQL."""

from sqlalchemy import select

from extensions import db
from shop.models import Order, OrderHistory, OrderState
from shop.status import change_states


def test_a_bulk_change_rolled_back_as_a_whole_leaves_every_order_unchanged(app, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(3)]
    with app.app_context():
        before = db.session.scalar(select(db.func.count()).select_from(OrderHistory))
        result = change_states(ids, OrderState.by_key("PS_OS_CANCELED"))
        assert result.changed == ids
        db.session.rollback()
    with app.app_context():
        states = set(db.session.scalars(select(OrderState.key).join(Order, Order.current_state_id == OrderState.id)))
        assert states == {"PS_OS_PAYMENT"}
        assert db.session.scalar(select(db.func.count()).select_from(OrderHistory)) == before


def test_a_rolled_back_savepoint_keeps_the_outer_transaction(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.utm_source = "kept"
        try:
            with db.session.begin_nested():
                order.utm_medium = "dropped"
                db.session.flush()
                raise RuntimeError("the inner part fails")
        except RuntimeError:
            pass
        db.session.commit()
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert (order.utm_source, order.utm_medium) == ("kept", None)
