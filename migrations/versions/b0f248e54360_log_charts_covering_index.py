"""Log charts: one index holding every column the charts read (created_at first), in place of created_at's own

Revision ID: b0f248e54360
Revises: d3c0516cc461
Create Date: 2026-11-29 17:28:59.381860

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b0f248e54360"
down_revision = "d3c0516cc461"
branch_labels = None
depends_on = None

COLUMNS = ["created_at", "status", "destination", "currency", "value", "test_event_code"]


def upgrade():
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_activity", COLUMNS, unique=False)
        # Its leading column serves every query the created_at index served.
        batch_op.drop_index("ix_outbox_event_created_at")


def downgrade():
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_event_created_at", ["created_at"], unique=False)
        batch_op.drop_index("ix_outbox_activity")
