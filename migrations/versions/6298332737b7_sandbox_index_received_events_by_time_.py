"""Sandbox: index received events by time for the per-minute chart

Revision ID: 6298332737b7
Revises: fa260b680386
Create Date: 2026-11-29 11:53:02.367960

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "6298332737b7"
down_revision = "fa260b680386"
branch_labels = None
depends_on = None


def upgrade():
    # The Test events page reads the last 30 minutes every 2 s; without it that is a full scan.
    with op.batch_alter_table("sandbox_received_event", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_received_at", ["received_at"], unique=False)


def downgrade():
    with op.batch_alter_table("sandbox_received_event", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_received_at")
