"""Orders remember the GA4 client id from the _ga cookie (nullable: older orders have none).

Revision ID: 638b9b6a990f
Revises: 3cf348b9e8a0
Create Date: 2026-11-29 11:34:43.276068

"""

import sqlalchemy as sa
from alembic import op

import core.dbtypes  # noqa: F401  (the Money and UTCDateTime column types)

# revision identifiers, used by Alembic.
revision = "638b9b6a990f"
down_revision = "3cf348b9e8a0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ga_client_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("ga_client_id")
