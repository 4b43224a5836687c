"""The delivery migration renames Pixel Plus's outbox, attempts and decisions: existing rows survive."""

import flask_migrate
import sqlalchemy as sa
from sqlalchemy import select

from delivery.models import FAILED, SENT, Decision, DeliveryAttempt, OutboxEvent
from extensions import db
from tests.test_migrations import INITIAL, _release_0_1_shop, empty_app, schema_differences  # noqa: F401

DELIVERY = "d3578066c54d"
BEFORE_DELIVERY = "e3d2e6808dc7"  # the revision the delivery migration follows


def _release_0_1_delivery(connection) -> None:
    """A sent event with its attempt and decision, and a failed one, in release 0.1's tables."""
    connection.execute(
        sa.text(
            "INSERT INTO pixelplus_outbox_event (id, destination, target, order_id, order_reference, event_name, "
            "event_id, value, currency, payload_json, status, attempts, next_attempt_at, created_at, sent_at, "
            "last_error) VALUES "
            "(1, 'meta_capi', '1234567890123456', 1, 'ABCDEFGHI', 'Refund', 'refund-1-1', 6756, 'EUR', "
            "'{\"event_name\": \"Refund\"}', 'sent', 1, '2026-11-21 09:00:00', '2026-11-21 09:00:00', "
            "'2026-11-21 09:00:01', NULL), "
            "(2, 'meta_capi', '1234567890123456', 1, 'ABCDEFGHI', 'Refund', 'refund-1-2', 100, 'EUR', "
            "'{\"event_name\": \"Refund\"}', 'failed', 8, '2026-11-21 09:00:00', '2026-11-21 09:00:00', NULL, "
            "'gave up after 8 attempts')"
        )
    )
    connection.execute(
        sa.text(
            "INSERT INTO pixelplus_attempt (id, destination, at, request_url, http_status, outcome) "
            "VALUES (1, 'meta_capi', '2026-11-21 09:00:01', 'https://graph.facebook.com/v21.0/1/events', 200, 'sent')"
        )
    )
    connection.execute(sa.text("INSERT INTO pixelplus_attempt_event (attempt_id, outbox_event_id) VALUES (1, 1)"))
    connection.execute(
        sa.text(
            'INSERT INTO pixelplus_decision (id, order_id, "trigger", old_state_id, new_state_id, at, outcome, '
            "reason, outbox_event_id) VALUES (1, 1, 'status', 2, 7, '2026-11-21 09:00:00', 'fired', 'refunded', 1)"
        )
    )


def test_the_rename_keeps_events_attempts_and_decisions(empty_app):  # noqa: F811
    with empty_app.app_context():
        flask_migrate.upgrade(revision=INITIAL)
        with db.engine.begin() as connection:
            _release_0_1_shop(connection)
            _release_0_1_delivery(connection)
            if connection.dialect.name == "postgresql":
                # 0.1 wrote these rows through the sequences; the test wrote their ids by hand: catch up.
                for table in ("pixelplus_outbox_event", "pixelplus_attempt", "pixelplus_decision"):
                    connection.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
                        )
                    )

        flask_migrate.upgrade(revision=DELIVERY)

        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"outbox_event", "delivery_attempt", "delivery_attempt_event", "decision"} <= tables
        assert not {t for t in tables if t.startswith("pixelplus_")}
        # The models are today's: read the renamed rows through them once every later migration has run too.
        flask_migrate.upgrade()
        sent, failed = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        assert (sent.status, sent.event_id, str(sent.value)) == (SENT, "refund-1-1", "67.56")
        assert failed.status == FAILED and failed.last_error == "gave up after 8 attempts"
        assert [a.http_status for a in sent.attempt_rows] == [200]
        assert db.session.get(DeliveryAttempt, 1).events == [sent]
        decision = db.session.get(Decision, 1)
        assert decision.destination == "meta_capi" and decision.outbox_event is sent

        # New rows get ids after the old ones (PostgreSQL's renamed sequences keep counting).
        db.session.add(Decision(order_id=1, outcome="skipped", reason="after the rename", destination="ga4"))
        db.session.commit()
        assert db.session.scalars(select(Decision.id).order_by(Decision.id)).all() == [1, 2]
        assert schema_differences() == []


def test_downgrade_gives_pixelplus_its_tables_back(empty_app):  # noqa: F811
    with empty_app.app_context():
        flask_migrate.upgrade(revision=INITIAL)
        with db.engine.begin() as connection:
            _release_0_1_shop(connection)
            _release_0_1_delivery(connection)
        flask_migrate.upgrade(revision=DELIVERY)
        flask_migrate.downgrade(revision=BEFORE_DELIVERY)
        with db.engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM pixelplus_outbox_event")).scalar()
            reason = connection.execute(sa.text("SELECT reason FROM pixelplus_decision")).scalar()
        assert (count, reason) == (2, "refunded")
        flask_migrate.upgrade()  # the fixture drops the models' tables, which hold the rows again
