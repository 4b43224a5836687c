"""Postbacks and the order's click id: the postback and postback_config tables, orders.click_id

New tables and a nullable column: existing orders keep working (they simply have no click id).

Revision ID: fa260b680386
Revises: 7f5c89d70764
Create Date: 2026-11-29 11:28:12.624989

"""

import sqlalchemy as sa
from alembic import op

import core.dbtypes

# revision identifiers, used by Alembic.
revision = "fa260b680386"
down_revision = "7f5c89d70764"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "postback_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("token_rotated_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("stripe_webhook_secret", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "postback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("txid", sa.String(length=128), nullable=False),
        sa.Column("dedup_key", sa.String(length=160), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("cid", sa.String(length=64), nullable=True),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=True),
        sa.Column("charge_id", sa.String(length=64), nullable=True),
        sa.Column("amount", core.dbtypes.Money(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("refunded", core.dbtypes.Money(), nullable=True),
        sa.Column("credit_slip_id", sa.Integer(), nullable=True),
        sa.Column("received_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("processed_at", core.dbtypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["credit_slip_id"], ["credit_slip.id"], name="fk_postback_credit_slip_id_credit_slip"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_postback_order_id_orders"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key", name="uq_postback_dedup_key"),
    )
    with op.batch_alter_table("postback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_postback_charge_id"), ["charge_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_postback_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_postback_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_postback_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_postback_txid"), ["txid"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("click_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_click_id"), ["click_id"], unique=False)


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_click_id"))
        batch_op.drop_column("click_id")

    with op.batch_alter_table("postback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postback_txid"))
        batch_op.drop_index(batch_op.f("ix_postback_status"))
        batch_op.drop_index(batch_op.f("ix_postback_received_at"))
        batch_op.drop_index(batch_op.f("ix_postback_order_id"))
        batch_op.drop_index(batch_op.f("ix_postback_charge_id"))

    op.drop_table("postback")
    op.drop_table("postback_config")
