"""The receiver reads the settings once per transaction, and never a stale copy."""

from sqlalchemy import event, select

from extensions import db
from pixelplus.models import Decision
from pixelplus.settings import save_settings
from shop.models import OrderState
from shop.status import change_states
from tests.pixelplus_support import configure


def test_a_bulk_change_reads_the_settings_once(app, make_order):
    configure(app)
    ids = [make_order("PS_OS_PAYMENT") for _ in range(21)]

    def settings_reads(order_ids: list[int]) -> int:
        reads = []
        with app.app_context():

            def count(conn, cursor, statement, *args):
                if "FROM module_setting" in statement:
                    reads.append(statement)

            event.listen(db.engine, "before_cursor_execute", count)
            try:
                result = change_states(order_ids, OrderState.by_key("PS_OS_REFUND"))
                db.session.commit()
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
        assert result.changed == order_ids
        return len(reads)

    # Each module reads its settings once per transaction: as often for twenty orders as for one.
    one = settings_reads(ids[:1])
    assert one >= 1
    assert settings_reads(ids[1:]) == one


def test_settings_saved_in_the_transaction_are_the_ones_used(app, make_order):
    configure(app)
    first, second = make_order("PS_OS_PAYMENT"), make_order("PS_OS_PAYMENT")
    with app.app_context():
        refunded = OrderState.by_key("PS_OS_REFUND")
        change_states([first], refunded)
        save_settings({"enabled": False})
        change_states([second], refunded)
        db.session.commit()
        reasons = dict(
            db.session.execute(
                select(Decision.order_id, Decision.reason).where(
                    Decision.new_state_id == refunded.id, Decision.destination == "meta_capi"
                )
            ).all()
        )
    assert reasons[second] == "module disabled"
    assert reasons[first] != "module disabled"
