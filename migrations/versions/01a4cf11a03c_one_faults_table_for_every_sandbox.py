"""One faults table for every sandbox: Meta's single faults row becomes the `meta_capi` row of sandbox_service_fault.

A fault set on the Meta sandbox before the upgrade is still set after it.

Revision ID: 01a4cf11a03c
Revises: 48fdb0e5cb2b
Create Date: 2026-11-29 14:20:53.816681

"""

import sqlalchemy as sa
from alembic import op

import core.dbtypes  # noqa: F401  (the Money and UTCDateTime column types)

# revision identifiers, used by Alembic.
revision = "01a4cf11a03c"
down_revision = "48fdb0e5cb2b"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "INSERT INTO sandbox_service_fault (service, latency_ms, error, error_rate, remaining, hang_ms, updated_at) "
        "SELECT 'meta_capi', latency_ms, error, error_rate, remaining, hang_ms, updated_at FROM sandbox_faults "
        "WHERE id = 1"
    )
    op.drop_table("sandbox_faults")


def downgrade():
    op.create_table(
        "sandbox_faults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=16), nullable=True),
        sa.Column("error_rate", sa.Float(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("hang_ms", sa.Integer(), nullable=True),
        sa.Column("updated_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO sandbox_faults (id, latency_ms, error, error_rate, remaining, hang_ms, updated_at) "
        "SELECT 1, latency_ms, error, error_rate, remaining, hang_ms, updated_at FROM sandbox_service_fault "
        "WHERE service = 'meta_capi'"
    )
    op.execute("DELETE FROM sandbox_service_fault WHERE service = 'meta_capi'")
