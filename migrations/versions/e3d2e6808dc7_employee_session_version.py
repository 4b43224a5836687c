"""Employee session version: raised on sign-out and password change, so older session cookies stop working

Revision ID: e3d2e6808dc7
Revises: 6298332737b7
Create Date: 2026-11-29 11:32:26.675342

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e3d2e6808dc7"
down_revision = "6298332737b7"
branch_labels = None
depends_on = None


def upgrade():
    # Existing employees start at version 0; their current cookies (id without a version) must sign in again.
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.drop_column("session_version")
