"""Bulk jobs: large bulk status changes run in the background, with their progress and report

A new table only: existing data is untouched.

Revision ID: 6d54c26bddee
Revises: 01a4cf11a03c
Create Date: 2026-11-29 14:46:16.458861

"""

import sqlalchemy as sa
from alembic import op

import core.dbtypes  # noqa: F401  (the UTCDateTime column type)

# revision identifiers, used by Alembic.
revision = "6d54c26bddee"
down_revision = "01a4cf11a03c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bulk_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=True),
        sa.Column("state_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("order_ids_json", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("changed_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", core.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("started_at", core.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", core.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["employee.id"], name="fk_bulk_job_employee_id_employee"),
        sa.ForeignKeyConstraint(["state_id"], ["order_state.id"], name="fk_bulk_job_state_id_order_state"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bulk_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulk_job_status"), ["status"], unique=False)


def downgrade():
    with op.batch_alter_table("bulk_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulk_job_status"))
    op.drop_table("bulk_job")
