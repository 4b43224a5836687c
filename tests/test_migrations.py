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
from shop.models import CreditSlip, Customer, Employee, Order, OrderLine, OrderState

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


def test_the_refund_and_state_fields_are_filled_in_for_existing_rows(empty_app):
    """Rows of the schema before revision c4f1e7a2d9b3 get PrestaShop's values, slip amounts, invoices."""
    with empty_app.app_context():
        flask_migrate.upgrade(revision=INITIAL)
        with db.engine.begin() as connection:
            _release_0_1_shop(connection)
            connection.execute(
                sa.text(
                    "INSERT INTO product (id, reference, name, price_tax_excl, tax_rate, active) "
                    "VALUES (1, 'POSTER-01', 'Poster', 1200, 5.5, true)"
                )
            )
            # 2 posters at 12.66 (12.00 + 5.5 %), a slip of one poster and the shipping (8.40).
            connection.execute(
                sa.text(
                    "INSERT INTO order_line (id, order_id, product_id, product_reference, product_name, quantity, "
                    "unit_price_tax_excl, unit_price_tax_incl, refunded_quantity, returned_quantity) "
                    "VALUES (1, 1, 1, 'POSTER-01', 'Poster', 2, 1200, 1266, 1, 0)"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO credit_slip (id, order_id, at, total_products_tax_excl, total_products_tax_incl, "
                    "total_shipping_tax_excl, total_shipping_tax_incl) VALUES (1, 1, '2026-11-21 08:00:00', 1200, "
                    "1266, 700, 840)"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO credit_slip_line (id, credit_slip_id, order_line_id, quantity, amount_tax_excl, "
                    "amount_tax_incl) VALUES (1, 1, 1, 1, 1200, 1266)"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO order_history (id, order_id, state_id, at) VALUES "
                    "(1, 1, 2, '2026-11-20 10:00:00'), (2, 1, 7, '2026-11-21 09:00:00')"
                )
            )

        flask_migrate.upgrade()

        assert schema_differences() == []
        payment, refunded = OrderState.by_key("PS_OS_PAYMENT"), OrderState.by_key("PS_OS_REFUND")
        assert (payment.template, payment.pdf_invoice, payment.unremovable) == ("payment", True, True)
        assert (refunded.template, refunded.pdf_invoice, refunded.module_name) == ("refund", False, None)
        slip = db.session.get(CreditSlip, 1)
        assert (slip.amount, slip.shipping_cost_amount, slip.slip_type) == (Decimal("12.66"), Decimal("8.40"), 2)
        line = db.session.get(OrderLine, 1)
        assert (line.tax_rate, line.total_refunded_tax_incl, line.total_refunded_tax_excl) == (
            Decimal("5.50"),
            Decimal("12.66"),
            Decimal("12.00"),
        )
        assert line.refundable_amount == Decimal("12.66") and line.restocked_quantity == 0
        order = db.session.get(Order, 1)
        assert order.invoice_number == 1 and order.invoice_date.isoformat().startswith("2026-11-20T10:00:00")
        assert order.carrier_tax_rate == Decimal("20.00")


def test_a_meta_sandbox_fault_set_before_the_upgrade_is_still_set(empty_app):
    """Revision 01a4cf11a03c moves Meta's single faults row into the faults table every sandbox shares."""
    with empty_app.app_context():
        flask_migrate.upgrade(revision="48fdb0e5cb2b")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO sandbox_faults (id, latency_ms, error, error_rate, remaining, hang_ms, updated_at) "
                    "VALUES (1, 25, 'token', 0.5, 3, NULL, '2026-11-29 10:00:00')"
                )
            )

        flask_migrate.upgrade()

        assert schema_differences() == []
        from sandbox.faults import current_faults

        faults = current_faults("meta_capi")
        assert faults.to_json() == {"latency_ms": 25, "error": "token", "error_rate": 0.5, "count": 3}
        assert current_faults("ga4") is None
