"""Schema migrations: they build exactly the models' schema, and an existing shop keeps its data."""

from decimal import Decimal

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from app import MIGRATIONS_DIR, create_app
from core.schema import upgrade_schema
from extensions import db
from shop.models import Customer, Employee, Order, OrderState

# Release 0.1 made its schema with db.create_all(); the initial migration is that schema.
INITIAL = "b9f6d1a612f6"


@pytest.fixture
def empty_app(app_config):
    """An app on a database with no table at all (create_app builds the test schema: drop it)."""
    application = create_app(app_config)
    with application.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        db.engine.dispose()


def schema_differences() -> list:
    """What autogenerate would still write: the differences between the database and the models."""
    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.metadata)


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_one_head():
    heads = ScriptDirectory(MIGRATIONS_DIR).get_heads()
    assert len(heads) == 1, f"migrations have {len(heads)} heads, merge them: {heads}"


def test_migrations_build_the_models_schema(empty_app):
    with empty_app.app_context():
        flask_migrate.upgrade()
        assert current_revision() == ScriptDirectory(MIGRATIONS_DIR).get_current_head()
        assert schema_differences() == []


def test_downgrade_to_nothing_and_back(empty_app):
    with empty_app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert schema_differences() == []


def _release_0_1_shop(connection) -> None:
    """Rows as release 0.1 wrote them, in its own columns (no model of today is used)."""
    connection.execute(
        sa.text(
            "INSERT INTO order_state (id, key, name, color, logable, invoice, paid, shipped, delivery, send_email) "
            "VALUES (2, 'PS_OS_PAYMENT', 'Payment accepted', '#3498D8', true, true, true, false, false, true), "
            "(7, 'PS_OS_REFUND', 'Refunded', '#01B887', false, true, false, false, false, true)"
        )
    )
    connection.execute(
        sa.text(
            "INSERT INTO customer (id, email, firstname, lastname, phone, city, state, postcode, country, created_at) "
            "VALUES (1, 'ana@example.com', 'Ana', 'Lopez', '0612345678', 'Lyon', NULL, '69001', 'FR', "
            "'2026-11-20 10:00:00')"
        )
    )
    connection.execute(
        sa.text(
            "INSERT INTO employee (id, email, firstname, lastname, role, password_hash, active, created_at) "
            "VALUES (1, 'boss@example.com', 'B', 'Oss', 'superadmin', 'scrypt:x', true, '2026-11-20 10:00:00')"
        )
    )
    connection.execute(
        sa.text(
            "INSERT INTO orders (id, reference, customer_id, currency, payment_method, total_products_tax_excl, "
            "total_products_tax_incl, total_shipping_tax_excl, total_shipping_tax_incl, total_discounts_tax_excl, "
            "total_discounts_tax_incl, valid, current_state_id, created_at, updated_at) VALUES (1, 'ABCDEFGHI', 1, "
            "'EUR', 'Bank wire', 5000, 6000, 656, 756, 0, 0, false, 7, '2026-11-20 10:00:00', '2026-11-21 09:00:00')"
        )
    )
    connection.execute(sa.text("INSERT INTO module_setting (id, name, value) VALUES (1, 'FCTP_REFUND_ENABLED', '1')"))


def test_upgrade_keeps_a_release_0_1_database(empty_app):
    with empty_app.app_context():
        # The 0.1 schema exactly, as create_all made it: no alembic_version table.
        flask_migrate.upgrade(revision=INITIAL)
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE alembic_version"))
            _release_0_1_shop(connection)

        flask_migrate.upgrade()

        assert current_revision() == ScriptDirectory(MIGRATIONS_DIR).get_current_head()
        assert schema_differences() == []
        order = db.session.get(Order, 1)
        assert order.reference == "ABCDEFGHI"
        assert order.total_paid_tax_incl == Decimal("67.56")  # 60.00 + 7.56 shipping, cents kept exact
        assert order.current_state.key == "PS_OS_REFUND"
        assert db.session.get(Customer, 1).email == "ana@example.com"
        assert db.session.get(Employee, 1).role == "superadmin"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderState)) == 2
        value = db.session.execute(sa.text("SELECT value FROM module_setting WHERE name = 'FCTP_REFUND_ENABLED'"))
        assert value.scalar() == "1"


def test_init_demo_migrates_an_empty_database(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["shop", "init-demo"])
    assert result.exit_code == 0, result.output
    with empty_app.app_context():
        assert current_revision() == ScriptDirectory(MIGRATIONS_DIR).get_current_head()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 200


def test_upgrade_schema_stamps_a_database_made_from_todays_models(app):
    # The suite's databases come from db.create_all(): `init-demo` on one must not replay the migrations.
    with app.app_context():
        assert current_revision() is None
        upgrade_schema()
        assert current_revision() == ScriptDirectory(MIGRATIONS_DIR).get_current_head()
        assert schema_differences() == []
