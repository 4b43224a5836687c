"""Reports indexes: payments, credit slips and state entries by date

The reports read a period's payments, credit slips and entries into refund and chargeback states;
without these indexes each report scans those tables whole.

Revision ID: 7f5c89d70764
Revises: 638b9b6a990f
Create Date: 2026-11-29 11:39:28.410083

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "7f5c89d70764"
down_revision = "638b9b6a990f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_payment_at", "payment", ["at"], unique=False)
    op.create_index("ix_credit_slip_at", "credit_slip", ["at"], unique=False)
    op.create_index("ix_order_history_state_at", "order_history", ["state_id", "at"], unique=False)


def downgrade():
    op.drop_index("ix_order_history_state_at", table_name="order_history")
    op.drop_index("ix_credit_slip_at", table_name="credit_slip")
    op.drop_index("ix_payment_at", table_name="payment")
