"""GA4 and Google Ads sandboxes: what they received, Ads' known conversions, their injected faults.

New tables only; nothing existing changes.

Revision ID: 3cf348b9e8a0
Revises: b9f6d1a612f6
Create Date: 2026-11-29 11:28:42.766807

"""

import sqlalchemy as sa
from alembic import op

import core.dbtypes  # noqa: F401  (the Money and UTCDateTime column types)

# revision identifiers, used by Alembic.
revision = "3cf348b9e8a0"
down_revision = "b9f6d1a612f6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sandbox_ga4_hit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("debug", sa.Boolean(), nullable=False),
        sa.Column("measurement_id", sa.String(length=64), nullable=True),
        sa.Column("api_secret_hint", sa.String(length=16), nullable=True),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("event_name", sa.Text(), nullable=True),
        sa.Column("event", sa.JSON(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=True),
        sa.Column("messages", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sandbox_ga4_hit", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_ga4_hit_measurement", ["measurement_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sandbox_ga4_hit_request_id"), ["request_id"], unique=False)

    op.create_table(
        "sandbox_googleads_conversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=10), nullable=False),
        sa.Column("conversion_action_id", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("converted_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("value", core.dbtypes.Money(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "conversion_action_id", "order_id", name="uq_sandbox_googleads_conversion"),
    )
    op.create_table(
        "sandbox_service_fault",
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=16), nullable=True),
        sa.Column("error_rate", sa.Float(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("hang_ms", sa.Integer(), nullable=True),
        sa.Column("updated_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service"),
    )
    op.create_table(
        "sandbox_googleads_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("job_id", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("login_customer_id", sa.String(length=16), nullable=True),
        sa.Column("validate_only", sa.Boolean(), nullable=False),
        sa.Column("conversion_id", sa.Integer(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("adjustment_type", sa.Text(), nullable=True),
        sa.Column("adjusted_at", core.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("adjusted_value", core.dbtypes.Money(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("adjustment", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversion_id"],
            ["sandbox_googleads_conversion.id"],
            name="fk_sandbox_googleads_adjustment_conversion",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sandbox_googleads_adjustment", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_googleads_adjustment_conversion", ["conversion_id", "applied"], unique=False)
        batch_op.create_index(batch_op.f("ix_sandbox_googleads_adjustment_job_id"), ["job_id"], unique=False)


def downgrade():
    with op.batch_alter_table("sandbox_googleads_adjustment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_googleads_adjustment_job_id"))
        batch_op.drop_index("ix_sandbox_googleads_adjustment_conversion")

    op.drop_table("sandbox_googleads_adjustment")
    op.drop_table("sandbox_service_fault")
    op.drop_table("sandbox_googleads_conversion")
    with op.batch_alter_table("sandbox_ga4_hit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_ga4_hit_request_id"))
        batch_op.drop_index("ix_sandbox_ga4_hit_measurement")

    op.drop_table("sandbox_ga4_hit")
