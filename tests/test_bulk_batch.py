"""The bulk status change in batches: one flush per batch, per-order failures still isolated, every row as before."""

import re
import threading
from collections import Counter
from decimal import Decimal

import pytest
import requests
from sqlalchemy import event, func, select

from delivery.models import Decision, OutboxEvent
from extensions import db
from shop import batch
from shop.models import Order, OrderHistory, OrderState
from shop.signals import order_status_changed
from shop.status import change_state, change_states
from tests.bench.bench_bulk_change import enable_every_module

DESTINATIONS = {"meta_capi", "ga4", "google_ads", "webhook"}
# A time in a payload or reason: ISO 8601 or Google's "2026-11-29 17:03:37+00:00", or a Unix time (s or µs).
MOMENT = re.compile(r"\d{4}-\d\d-\d\d[T ][\d:.]+(Z|[+-]\d\d:\d\d)?|\b\d{10,16}\b")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "DELIVERY_ALLOWED_HOSTS": [*app_config["DELIVERY_ALLOWED_HOSTS"], "127.0.0.1:9"]}


@pytest.fixture
def every_module(app):
    with app.app_context():
        enable_every_module()
        db.session.commit()


def state(key: str) -> OrderState:
    return db.session.scalar(select(OrderState).filter_by(key=key))


def rows(model, order_ids) -> list:
    return list(db.session.scalars(select(model).where(model.order_id.in_(order_ids)).order_by(model.id)))


def test_a_batch_costs_at_most_one_statement_per_order_with_every_module(app, every_module, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(40)]
    statements = []
    with app.app_context():
        refunded = state("PS_OS_REFUND")
        listener = lambda *args, **kwargs: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            result = change_states(ids, refunded)
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert result.changed == ids and result.skipped == []
        # 40 orders, 4 modules: 160 decisions, 160 outbox rows, 40 history rows, 40 updates; a bounded
        # number of batch statements (load, lock, settings, ids) instead of ~9 statements per order.
        assert len(statements) <= 40
        events = rows(OutboxEvent, ids)
        assert Counter(e.destination for e in events) == {d: 40 for d in DESTINATIONS}
        decisions = [d for d in rows(Decision, ids) if d.new_state_id == refunded.id]  # not those of the placing
        assert Counter(d.destination for d in decisions) == {d: 40 for d in DESTINATIONS}
        assert all(d.outcome == "fired" and d.outbox_event_id is not None for d in decisions)
        assert len(rows(OrderHistory, ids)) == 80  # placed + refunded
        # Each event reports the whole order: 2 T-shirts at 23.88 + 1 mug at 11.40 + shipping 8.40 = 67.56 EUR.
        assert {e.value for e in events} == {Decimal("67.56")}


def test_a_bulk_change_records_what_one_by_one_changes_record(app, every_module, make_order):
    bulk_ids = [make_order("PS_OS_PAYMENT") for _ in range(3)]
    single_ids = [make_order("PS_OS_PAYMENT") for _ in range(3)]
    with app.app_context():
        change_states(bulk_ids, state("PS_OS_REFUND"))
        for order_id in single_ids:
            change_state(db.session.get(Order, order_id), state("PS_OS_REFUND"))
        db.session.commit()

        def shape(order_ids):
            return sorted(
                (d.destination, d.outcome, d.reason.split(" at ")[0], d.outbox_event.event_name, d.outbox_event.value)
                for order_id in order_ids
                for d in rows(Decision, [order_id])
                if d.outbox_event is not None
            )

        assert shape(bulk_ids) == shape(single_ids)
        assert len(shape(bulk_ids)) == 12


def test_a_bulk_change_writes_every_column_one_by_one_changes_write(app, every_module, make_order):
    """The batch inserts decisions and outbox rows itself (no unit of work): the same columns, links and defaults."""
    ids = [make_order("PS_OS_PAYMENT", customer_index=i % 2, browser=i < 2) for i in range(4)]
    moments = ("id", "at", "created_at", "next_attempt_at", "outbox_event_id")

    def columns(row) -> dict:
        # The same orders both times: rows differ only by their ids and the moment they were written.
        return {c.key: MOMENT.sub("T", str(getattr(row, c.key))) for c in row.__table__.columns if c.key not in moments}

    def written() -> list:
        db.session.flush()
        decisions = [d for d in rows(Decision, ids) if d.new_state_id == refunded.id]
        assert all(d.outbox_event is not None and d.outbox_event.order_id == d.order_id for d in decisions)
        return sorted(((columns(d), columns(d.outbox_event)) for d in decisions), key=repr)

    with app.app_context():
        refunded = state("PS_OS_REFUND")
        change_states(ids, refunded, reason="damaged", note="box crushed")
        bulk = written()
        db.session.rollback()
        for order_id in ids:
            change_state(db.session.get(Order, order_id), refunded, reason="damaged", note="box crushed")
        single = written()
        assert len(bulk) == 16
        assert bulk == single
        assert {event["attempts"] for _decision, event in bulk} == {"0"}  # the column's default, as the ORM gives it
        assert {event["status"] for _decision, event in bulk} == {"pending"}
        assert {decision["outcome"] for decision, _event in bulk} == {"fired"}


def test_a_row_held_by_the_batch_that_the_database_refuses_fails_only_its_order(app, every_module, make_order):
    """A row added with ``shop.batch.add`` and refused by the batch's insert: its orders change again one by one."""
    ids = [make_order("PS_OS_PAYMENT") for _ in range(4)]
    with app.app_context():

        def bad_row(order, **extra):
            if order.id == ids[1]:
                batch.add(Decision(destination="broken", order_id=order.id, outcome="fired", reason=None))

        with order_status_changed.connected_to(bad_row):
            result = change_states(ids, state("PS_OS_REFUND"))
        db.session.commit()
        db.session.expire_all()
        assert result.changed == [ids[0], ids[2], ids[3]]
        assert [s["id"] for s in result.skipped] == [ids[1]] and result.skipped[0]["reason"].startswith("error: ")
        decisions = [d for d in rows(Decision, ids) if d.old_state_id is not None]
        assert Counter(d.order_id for d in decisions) == {ids[0]: 4, ids[2]: 4, ids[3]: 4}
        assert Counter(e.order_id for e in rows(OutboxEvent, ids)) == {ids[0]: 4, ids[2]: 4, ids[3]: 4}
        assert db.session.get(Order, ids[1]).current_state.key == "PS_OS_PAYMENT"


def test_a_failed_orders_held_rows_are_not_written(app, every_module, make_order):
    """An order whose receiver raises after the modules recorded: its decisions and outbox rows are dropped."""
    ids = [make_order("PS_OS_PAYMENT") for _ in range(3)]
    with app.app_context():

        def explode_last(order, **extra):
            if order.id == ids[1]:
                raise RuntimeError("a receiver failed")

        with order_status_changed.connected_to(explode_last):  # connected last: the modules have recorded by then
            result = change_states(ids, state("PS_OS_REFUND"))
        db.session.commit()
        assert result.skipped == [{"id": ids[1], "reason": "error: RuntimeError"}]
        assert Counter(e.order_id for e in rows(OutboxEvent, ids)) == {ids[0]: 4, ids[2]: 4}
        decisions = [d for d in rows(Decision, ids) if d.old_state_id is not None]
        assert Counter(d.order_id for d in decisions) == {ids[0]: 4, ids[2]: 4}


def test_a_second_refund_in_the_same_bulk_batch_sees_the_first(app, every_module, make_order):
    """Canceled then Refunded, two bulk changes in one transaction: the cache keeps what was reported."""
    ids = [make_order("PS_OS_PAYMENT") for _ in range(2)]
    with app.app_context():
        canceled = state("PS_OS_CANCELED")
        from pixelplus.settings import save_settings

        save_settings({"trigger_state_ids": [canceled.id, state("PS_OS_REFUND").id]})
        change_states(ids, canceled)
        change_states(ids, state("PS_OS_REFUND"))
        db.session.commit()
        meta = [d for d in rows(Decision, ids) if d.destination == "meta_capi" and d.old_state_id is not None]
        assert [d.outcome for d in meta if d.order_id == ids[0]] == ["fired", "skipped"]
        assert "nothing left to report" in meta[-1].reason
        assert len([e for e in rows(OutboxEvent, ids) if e.destination == "meta_capi"]) == 2


def test_invoice_numbers_stay_consecutive_when_an_order_of_the_batch_fails(app, make_order):
    ids = [make_order("PS_OS_BANKWIRE") for _ in range(3)]
    with app.app_context():

        def explode(order, **extra):
            if order.id == ids[1]:
                raise RuntimeError("a receiver failed")

        with order_status_changed.connected_to(explode):
            result = change_states(ids, state("PS_OS_PAYMENT"))
        db.session.commit()
        db.session.expire_all()
        assert result.changed == [ids[0], ids[2]]
        assert result.skipped == [{"id": ids[1], "reason": "error: RuntimeError"}]
        numbers = [db.session.get(Order, i).invoice_number for i in ids]
        assert numbers == [1, None, 2]
        assert db.session.get(Order, ids[1]).current_state.key == "PS_OS_BANKWIRE"


def test_a_row_the_database_refuses_fails_only_its_order(app, every_module, make_order):
    """The batch's flush fails: its orders are changed again one by one, and only the bad one fails."""
    ids = [make_order("PS_OS_PAYMENT") for _ in range(4)]
    calls = Counter()
    with app.app_context():

        def bad_row(order, **extra):
            calls[order.id] += 1
            if order.id == ids[2]:
                db.session.add(Decision(destination="broken", order_id=order.id, outcome="fired", reason=None))

        with order_status_changed.connected_to(bad_row):
            result = change_states(ids, state("PS_OS_REFUND"))
        db.session.commit()
        db.session.expire_all()
        assert result.changed == [ids[0], ids[1], ids[3]]
        # Which error is named depends on which receiver's flush met the row first, as outside a bulk change.
        assert [s["id"] for s in result.skipped] == [ids[2]] and result.skipped[0]["reason"].startswith("error: ")
        # The first attempt was rolled back: each changed order has one decision per module, one history row.
        decisions = [d for d in rows(Decision, ids) if d.old_state_id is not None]  # not those of the placing
        assert Counter(d.order_id for d in decisions) == {ids[0]: 4, ids[1]: 4, ids[3]: 4}
        assert Counter(h.order_id for h in rows(OrderHistory, ids)) == {ids[0]: 2, ids[1]: 2, ids[2]: 1, ids[3]: 2}
        assert db.session.get(Order, ids[2]).current_state.key == "PS_OS_PAYMENT"
        assert calls == {i: 2 for i in ids}, "the batch's receivers ran again, in that rare case only"


def test_huge_unknown_and_repeated_ids_are_reported_without_a_query_error(app, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(2)]
    with app.app_context():
        listed = [ids[0], 2**63, 2**64 + 5, -1, 0, 999_999, ids[0], ids[1]]
        result = change_states(listed, state("PS_OS_REFUND"), batch_size=3)
        db.session.commit()
        assert result.changed == ids
        assert result.skipped == [
            {"id": 2**63, "reason": "no such order"},
            {"id": 2**64 + 5, "reason": "no such order"},
            {"id": -1, "reason": "no such order"},
            {"id": 0, "reason": "no such order"},
            {"id": 999_999, "reason": "no such order"},
            {"id": ids[0], "reason": "listed twice"},
        ]


def test_parallel_bulk_changes_of_the_same_orders_change_each_once(app, live, staff, every_module, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(30)]
    with app.app_context():
        refunded = state("PS_OS_REFUND").id
    start = threading.Barrier(4)
    answers = []

    def bulk():
        start.wait()
        response = requests.post(
            f"{live.url}/api/orders/bulk-status",
            json={"order_ids": ids, "state_id": refunded},
            headers=staff.headers("superadmin"),
            timeout=120,
        )
        answers.append(response)

    threads = [threading.Thread(target=bulk) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert [a.status_code for a in answers] == [200] * 4, [a.text[:300] for a in answers]
    changed = Counter(i for a in answers for i in a.json()["changed"])
    assert changed == {i: 1 for i in ids}
    for answer in answers:
        assert {s["reason"] for s in answer.json()["skipped"]} <= {"already in state Refunded"}
    with app.app_context():
        refunds = db.session.scalar(
            select(func.count()).select_from(OrderHistory).where(OrderHistory.state_id == refunded)
        )
        assert refunds == 30
        assert Counter(e.destination for e in rows(OutboxEvent, ids)) == {d: 30 for d in DESTINATIONS}


def test_two_bulk_changes_of_the_same_orders_listed_in_opposite_orders_both_finish(app, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(40)]
    with app.app_context():
        refunded = state("PS_OS_REFUND").id
    start = threading.Barrier(2)
    results, failures = [], []

    def bulk(order_ids):
        with app.app_context():
            try:
                start.wait()
                # Batches of 10: each change holds a batch the other lists last, unless all are held first.
                results.append(change_states(order_ids, db.session.get(OrderState, refunded), batch_size=10))
                db.session.commit()
            except Exception as error:  # noqa: BLE001  (reported below)
                failures.append(repr(error))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=bulk, args=(order,)) for order in (ids, list(reversed(ids)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert Counter(i for result in results for i in result.changed) == {i: 1 for i in ids}
    with app.app_context():
        history = db.session.scalar(
            select(func.count()).select_from(OrderHistory).where(OrderHistory.state_id == refunded)
        )
        assert history == 40


def test_decisions_and_outbox_rows_built_without_attribute_events_are_written_and_linked(app, make_order):
    """``RecordedOnce``: values go straight into the row, a relationship given still links, a typo is refused."""
    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        event = OutboxEvent(
            destination="webhook", target="1", order_id=order_id, event_name="transaction.refunded", event_id="evt_1",
            value=Decimal("12.30"), payload_json="{}",
        )  # fmt: skip
        decision = Decision(
            destination="webhook", order_id=order_id, outcome="fired", reason="test", outbox_event=event
        )
        db.session.add(decision)  # the event follows through the relationship
        db.session.commit()
        db.session.expire_all()
        [stored] = [d for d in rows(Decision, [order_id]) if d.reason == "test"]
        assert stored.outbox_event.event_id == "evt_1" and stored.outbox_event.value == Decimal("12.30")
        assert (stored.outbox_event.status, stored.outbox_event.attempts) == ("pending", 0)  # the columns' defaults
        assert stored.trigger == "status"
        with pytest.raises(TypeError, match="'outcom' is an invalid keyword argument for Decision"):
            Decision(destination="webhook", order_id=order_id, outcom="fired")


def test_a_held_row_linked_to_a_row_added_to_the_session_is_written_once(app, every_module, make_order):
    """A receiver adds a decision itself and links a row held by the batch: the flush writes it, the batch does not."""
    ids = [make_order("PS_OS_PAYMENT") for _ in range(2)]
    calls = Counter()
    with app.app_context():

        def linked(order, **extra):
            calls[order.id] += 1
            event = OutboxEvent(
                destination="custom", target="t", order_id=order.id, event_name="refund", event_id=f"c-{order.id}",
                payload_json="{}",
            )  # fmt: skip
            batch.add(event)
            db.session.add(Decision(destination="custom", order_id=order.id, outcome="fired", reason="linked",
                                    outbox_event=event))  # fmt: skip

        with order_status_changed.connected_to(linked):
            result = change_states(ids, state("PS_OS_REFUND"))
        db.session.commit()
        assert result.changed == ids and result.skipped == []
        assert calls == {i: 1 for i in ids}, "the batch was written at once, not redone order by order"
        custom = [e for e in rows(OutboxEvent, ids) if e.destination == "custom"]
        assert sorted(e.event_id for e in custom) == sorted(f"c-{i}" for i in ids)
        assert Counter(e.order_id for e in rows(OutboxEvent, ids)) == {i: 5 for i in ids}
