"""Reports: the payments index carries what the reports sum; credit slip lines by order line

At 1,000,000 orders the reports read a period's payments from the index alone (PostgreSQL's INCLUDE;
other databases keep the plain index) and find a line's credit slip lines without a scan.

Revision ID: a7c3e9d41b20
Revises: b31e39c86ffc
Create Date: 2026-11-29 12:20:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c3e9d41b20"
down_revision = "b31e39c86ffc"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_payment_at", table_name="payment")
    op.create_index(
        "ix_payment_at", "payment", ["at"], unique=False, postgresql_include=["currency", "order_id", "amount"]
    )
    op.create_index("ix_credit_slip_line_order_line_id", "credit_slip_line", ["order_line_id"], unique=False)


def downgrade():
    op.drop_index("ix_credit_slip_line_order_line_id", table_name="credit_slip_line")
    op.drop_index("ix_payment_at", table_name="payment")
    op.create_index("ix_payment_at", "payment", ["at"], unique=False)
