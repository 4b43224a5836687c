# ruff: noqa: E501  (the triggers are frozen as the statements this revision ran)
"""Reports: summary rows (facts per order and day, sums per day), and the triggers that note changed orders

The reports read a period's daily sums instead of every payment and refund: fast at 1,000,000 orders.
Triggers on payments, status history, credit slips (and their lines), order lines and the orders'
attribution note each changed order in report_change; the next report rolls it up (reports.summary).
Every existing order is noted as changed here, so the first report builds its rows; on a large shop
run `flask reports rebuild` after the upgrade instead (the upgrade docs say so).

Revision ID: 6907275e798c
Revises: 6d54c26bddee
Create Date: 2026-11-29 14:25:35.267264

"""

import sqlalchemy as sa
from alembic import op

import core.dbtypes  # noqa: F401  (the Money and UTCDateTime column types)

# revision identifiers, used by Alembic.
revision = "6907275e798c"
down_revision = "6d54c26bddee"
branch_labels = None
depends_on = None


# The triggers as this revision created them, frozen here: reports/triggers.py may change later.
CREATE = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS report_change_payment ON payment",
        "DROP TRIGGER IF EXISTS report_change_order_history ON order_history",
        "DROP TRIGGER IF EXISTS report_change_credit_slip ON credit_slip",
        "DROP TRIGGER IF EXISTS report_change_order_line ON order_line",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_line ON credit_slip_line",
        "DROP TRIGGER IF EXISTS report_change_orders ON orders",
        "DROP FUNCTION IF EXISTS report_change_payment()",
        "DROP FUNCTION IF EXISTS report_change_order_history()",
        "DROP FUNCTION IF EXISTS report_change_credit_slip()",
        "DROP FUNCTION IF EXISTS report_change_order_line()",
        "DROP FUNCTION IF EXISTS report_change_credit_slip_line()",
        "DROP FUNCTION IF EXISTS report_change_orders()",
        "CREATE OR REPLACE FUNCTION report_change_payment() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO report_change (order_id) VALUES (NEW.order_id); END IF;\n  IF TG_OP IN ('UPDATE', 'DELETE') THEN INSERT INTO report_change (order_id) VALUES (OLD.order_id); END IF;\n  RETURN NULL;\nEND $$",
        "CREATE TRIGGER report_change_payment AFTER INSERT OR UPDATE OR DELETE ON payment FOR EACH ROW EXECUTE FUNCTION report_change_payment()",
        "CREATE OR REPLACE FUNCTION report_change_order_history() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO report_change (order_id) VALUES (NEW.order_id); END IF;\n  IF TG_OP IN ('UPDATE', 'DELETE') THEN INSERT INTO report_change (order_id) VALUES (OLD.order_id); END IF;\n  RETURN NULL;\nEND $$",
        "CREATE TRIGGER report_change_order_history AFTER INSERT OR UPDATE OR DELETE ON order_history FOR EACH ROW EXECUTE FUNCTION report_change_order_history()",
        "CREATE OR REPLACE FUNCTION report_change_credit_slip() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO report_change (order_id) VALUES (NEW.order_id); END IF;\n  IF TG_OP IN ('UPDATE', 'DELETE') THEN INSERT INTO report_change (order_id) VALUES (OLD.order_id); END IF;\n  RETURN NULL;\nEND $$",
        "CREATE TRIGGER report_change_credit_slip AFTER INSERT OR UPDATE OR DELETE ON credit_slip FOR EACH ROW EXECUTE FUNCTION report_change_credit_slip()",
        "CREATE OR REPLACE FUNCTION report_change_order_line() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO report_change (order_id) VALUES (NEW.order_id); END IF;\n  IF TG_OP IN ('UPDATE', 'DELETE') THEN INSERT INTO report_change (order_id) VALUES (OLD.order_id); END IF;\n  RETURN NULL;\nEND $$",
        "CREATE TRIGGER report_change_order_line AFTER INSERT OR UPDATE OR DELETE ON order_line FOR EACH ROW EXECUTE FUNCTION report_change_order_line()",
        "CREATE OR REPLACE FUNCTION report_change_credit_slip_line() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO report_change (order_id) SELECT order_id FROM credit_slip WHERE id = NEW.credit_slip_id; END IF;\n  IF TG_OP IN ('UPDATE', 'DELETE') THEN INSERT INTO report_change (order_id) SELECT order_id FROM credit_slip WHERE id = OLD.credit_slip_id; END IF;\n  RETURN NULL;\nEND $$",
        "CREATE TRIGGER report_change_credit_slip_line AFTER INSERT OR UPDATE OR DELETE ON credit_slip_line FOR EACH ROW EXECUTE FUNCTION report_change_credit_slip_line()",
        "CREATE OR REPLACE FUNCTION report_change_orders() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP IN ('UPDATE') THEN INSERT INTO report_change (order_id) VALUES (NEW.id); END IF;\n  RETURN NULL;\nEND $$",
        "CREATE TRIGGER report_change_orders AFTER UPDATE OF currency, utm_source, utm_campaign, customer_id ON orders FOR EACH ROW EXECUTE FUNCTION report_change_orders()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS report_change_payment_insert",
        "DROP TRIGGER IF EXISTS report_change_payment_update",
        "DROP TRIGGER IF EXISTS report_change_payment_delete",
        "DROP TRIGGER IF EXISTS report_change_order_history_insert",
        "DROP TRIGGER IF EXISTS report_change_order_history_update",
        "DROP TRIGGER IF EXISTS report_change_order_history_delete",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_insert",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_update",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_delete",
        "DROP TRIGGER IF EXISTS report_change_order_line_insert",
        "DROP TRIGGER IF EXISTS report_change_order_line_update",
        "DROP TRIGGER IF EXISTS report_change_order_line_delete",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_line_insert",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_line_update",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_line_delete",
        "DROP TRIGGER IF EXISTS report_change_orders_insert",
        "DROP TRIGGER IF EXISTS report_change_orders_update",
        "DROP TRIGGER IF EXISTS report_change_orders_delete",
        "CREATE TRIGGER report_change_payment_insert AFTER INSERT ON payment BEGIN INSERT INTO report_change (order_id) VALUES (NEW.order_id); END",
        "CREATE TRIGGER report_change_payment_update AFTER UPDATE ON payment BEGIN INSERT INTO report_change (order_id) VALUES (NEW.order_id); INSERT INTO report_change (order_id) VALUES (OLD.order_id); END",
        "CREATE TRIGGER report_change_payment_delete AFTER DELETE ON payment BEGIN INSERT INTO report_change (order_id) VALUES (OLD.order_id); END",
        "CREATE TRIGGER report_change_order_history_insert AFTER INSERT ON order_history BEGIN INSERT INTO report_change (order_id) VALUES (NEW.order_id); END",
        "CREATE TRIGGER report_change_order_history_update AFTER UPDATE ON order_history BEGIN INSERT INTO report_change (order_id) VALUES (NEW.order_id); INSERT INTO report_change (order_id) VALUES (OLD.order_id); END",
        "CREATE TRIGGER report_change_order_history_delete AFTER DELETE ON order_history BEGIN INSERT INTO report_change (order_id) VALUES (OLD.order_id); END",
        "CREATE TRIGGER report_change_credit_slip_insert AFTER INSERT ON credit_slip BEGIN INSERT INTO report_change (order_id) VALUES (NEW.order_id); END",
        "CREATE TRIGGER report_change_credit_slip_update AFTER UPDATE ON credit_slip BEGIN INSERT INTO report_change (order_id) VALUES (NEW.order_id); INSERT INTO report_change (order_id) VALUES (OLD.order_id); END",
        "CREATE TRIGGER report_change_credit_slip_delete AFTER DELETE ON credit_slip BEGIN INSERT INTO report_change (order_id) VALUES (OLD.order_id); END",
        "CREATE TRIGGER report_change_order_line_insert AFTER INSERT ON order_line BEGIN INSERT INTO report_change (order_id) VALUES (NEW.order_id); END",
        "CREATE TRIGGER report_change_order_line_update AFTER UPDATE ON order_line BEGIN INSERT INTO report_change (order_id) VALUES (NEW.order_id); INSERT INTO report_change (order_id) VALUES (OLD.order_id); END",
        "CREATE TRIGGER report_change_order_line_delete AFTER DELETE ON order_line BEGIN INSERT INTO report_change (order_id) VALUES (OLD.order_id); END",
        "CREATE TRIGGER report_change_credit_slip_line_insert AFTER INSERT ON credit_slip_line BEGIN INSERT INTO report_change (order_id) SELECT order_id FROM credit_slip WHERE id = NEW.credit_slip_id; END",
        "CREATE TRIGGER report_change_credit_slip_line_update AFTER UPDATE ON credit_slip_line BEGIN INSERT INTO report_change (order_id) SELECT order_id FROM credit_slip WHERE id = NEW.credit_slip_id; INSERT INTO report_change (order_id) SELECT order_id FROM credit_slip WHERE id = OLD.credit_slip_id; END",
        "CREATE TRIGGER report_change_credit_slip_line_delete AFTER DELETE ON credit_slip_line BEGIN INSERT INTO report_change (order_id) SELECT order_id FROM credit_slip WHERE id = OLD.credit_slip_id; END",
        "CREATE TRIGGER report_change_orders_update AFTER UPDATE OF currency, utm_source, utm_campaign, customer_id ON orders BEGIN INSERT INTO report_change (order_id) VALUES (NEW.id); END",
    ],
}
DROP = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS report_change_payment ON payment",
        "DROP TRIGGER IF EXISTS report_change_order_history ON order_history",
        "DROP TRIGGER IF EXISTS report_change_credit_slip ON credit_slip",
        "DROP TRIGGER IF EXISTS report_change_order_line ON order_line",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_line ON credit_slip_line",
        "DROP TRIGGER IF EXISTS report_change_orders ON orders",
        "DROP FUNCTION IF EXISTS report_change_payment()",
        "DROP FUNCTION IF EXISTS report_change_order_history()",
        "DROP FUNCTION IF EXISTS report_change_credit_slip()",
        "DROP FUNCTION IF EXISTS report_change_order_line()",
        "DROP FUNCTION IF EXISTS report_change_credit_slip_line()",
        "DROP FUNCTION IF EXISTS report_change_orders()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS report_change_payment_insert",
        "DROP TRIGGER IF EXISTS report_change_payment_update",
        "DROP TRIGGER IF EXISTS report_change_payment_delete",
        "DROP TRIGGER IF EXISTS report_change_order_history_insert",
        "DROP TRIGGER IF EXISTS report_change_order_history_update",
        "DROP TRIGGER IF EXISTS report_change_order_history_delete",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_insert",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_update",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_delete",
        "DROP TRIGGER IF EXISTS report_change_order_line_insert",
        "DROP TRIGGER IF EXISTS report_change_order_line_update",
        "DROP TRIGGER IF EXISTS report_change_order_line_delete",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_line_insert",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_line_update",
        "DROP TRIGGER IF EXISTS report_change_credit_slip_line_delete",
        "DROP TRIGGER IF EXISTS report_change_orders_insert",
        "DROP TRIGGER IF EXISTS report_change_orders_update",
        "DROP TRIGGER IF EXISTS report_change_orders_delete",
    ],
}


def create_statements(dialect):
    return CREATE[dialect]


def drop_statements(dialect):
    return DROP[dialect]


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "report_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "report_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("campaign", sa.String(length=255), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("paid_orders", sa.Integer(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        sa.Column("refunded_orders", sa.Integer(), nullable=False),
        sa.Column("chargebacks", sa.Integer(), nullable=False),
        sa.Column("chargeback_amount", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("day", "currency", "level", "source", "campaign"),
    )
    op.create_table(
        "report_fact",
        sa.Column("order_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("campaign", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.Integer(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        sa.Column("refunded", sa.Integer(), nullable=False),
        sa.Column("chargeback_amount", sa.BigInteger(), nullable=False),
        sa.Column("charged_back", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("last_refund_at", core.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("last_event_at", core.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("prev_paid_day", sa.Date(), nullable=True),
        sa.Column("prev_refund_day", sa.Date(), nullable=True),
        sa.Column("prev_chargeback_day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", "day", "currency", "level"),
    )
    with op.batch_alter_table("report_fact", schema=None) as batch_op:
        batch_op.create_index("ix_report_fact_day_level", ["day", "level"], unique=False)
        batch_op.create_index("ix_report_fact_order_id", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_report_fact_refunded",
            ["day"],
            unique=False,
            postgresql_where=sa.text("refund_count > 0 AND level = 0"),
            sqlite_where=sa.text("refund_count > 0 AND level = 0"),
        )
        batch_op.create_index(
            "ix_report_fact_seen_again",
            ["day"],
            unique=False,
            postgresql_where=sa.text(
                "prev_paid_day IS NOT NULL OR prev_refund_day IS NOT NULL OR prev_chargeback_day IS NOT NULL"
            ),
            sqlite_where=sa.text(
                "prev_paid_day IS NOT NULL OR prev_refund_day IS NOT NULL OR prev_chargeback_day IS NOT NULL"
            ),
        )

    # ### end Alembic commands ###
    dialect = op.get_bind().dialect.name
    for statement in create_statements(dialect):
        op.execute(statement)
    op.execute("INSERT INTO report_change (order_id) SELECT id FROM orders")


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table("report_fact", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_report_fact_seen_again",
            postgresql_where=sa.text(
                "prev_paid_day IS NOT NULL OR prev_refund_day IS NOT NULL OR prev_chargeback_day IS NOT NULL"
            ),
            sqlite_where=sa.text(
                "prev_paid_day IS NOT NULL OR prev_refund_day IS NOT NULL OR prev_chargeback_day IS NOT NULL"
            ),
        )
        batch_op.drop_index("ix_report_fact_refunded")
        batch_op.drop_index("ix_report_fact_order_id")
        batch_op.drop_index("ix_report_fact_day_level")

    op.drop_table("report_fact")
    op.drop_table("report_day")
    op.drop_table("report_change")
    # ### end Alembic commands ###
