"""Webhook endpoints (URL, event types, signing secrets) and the webhook sandbox receiver's tables

Revision ID: 928c4207172c
Revises: a7c3e9d41b20
Create Date: 2026-11-29 13:19:15.994217

"""

import sqlalchemy as sa
from alembic import op

import core.dbtypes  # noqa: F401  (the Money and UTCDateTime column types)

# revision identifiers, used by Alembic.
revision = "928c4207172c"
down_revision = "a7c3e9d41b20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sandbox_webhook_hit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("verification_error", sa.Text(), nullable=True),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sandbox_webhook_hit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sandbox_webhook_hit_name"), ["name"], unique=False)

    op.create_table(
        "sandbox_webhook_secret",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("updated_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("previous_secret", sa.String(length=128), nullable=True),
        sa.Column("previous_secret_until", core.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("webhook_endpoint")
    op.drop_table("sandbox_webhook_secret")
    with op.batch_alter_table("sandbox_webhook_hit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_webhook_hit_name"))

    op.drop_table("sandbox_webhook_hit")
