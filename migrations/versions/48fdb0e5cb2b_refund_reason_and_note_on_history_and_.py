"""Refund reason and note on order history and credit slips; the headers of each delivery attempt

Nullable columns only: existing rows keep working (NULL = no reason or note given, headers not recorded).

Revision ID: 48fdb0e5cb2b
Revises: 928c4207172c
Create Date: 2026-11-29 14:21:05.095876

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "48fdb0e5cb2b"
down_revision = "928c4207172c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("credit_slip", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))

    with op.batch_alter_table("delivery_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_headers", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("response_headers", sa.Text(), nullable=True))

    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("reason")

    with op.batch_alter_table("delivery_attempt", schema=None) as batch_op:
        batch_op.drop_column("response_headers")
        batch_op.drop_column("request_headers")

    with op.batch_alter_table("credit_slip", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("reason")
