"""Delivery as a shared service: neutral table names, decisions per destination, breaker state

The outbox, attempts and decisions move from Pixel Plus to the delivery service. The tables are
renamed, not copied, so every existing row (sent, pending, failed, and the decisions behind them) stays;
existing decisions belong to Meta's Conversions API (``destination = 'meta_capi'``).

Revision ID: d3578066c54d
Revises: e3d2e6808dc7
Create Date: 2026-11-29 11:30:00

"""

import sqlalchemy as sa
from alembic import op

import core.dbtypes

# revision identifiers, used by Alembic.
revision = "d3578066c54d"
down_revision = "e3d2e6808dc7"
branch_labels = None
depends_on = None

# old name -> new name
TABLES = {
    "pixelplus_outbox_event": "outbox_event",
    "pixelplus_attempt": "delivery_attempt",
    "pixelplus_attempt_event": "delivery_attempt_event",
    "pixelplus_decision": "decision",
}
# Indexes named after their table (old table, old index, new index, columns); ix_outbox_due and
# ix_attempt_event_event keep their names.
INDEXES = [
    ("outbox_event", "ix_pixelplus_outbox_event_created_at", "ix_outbox_event_created_at", ["created_at"]),
    ("outbox_event", "ix_pixelplus_outbox_event_order_id", "ix_outbox_event_order_id", ["order_id"]),
    (
        "outbox_event",
        "ix_pixelplus_outbox_event_order_reference",
        "ix_outbox_event_order_reference",
        ["order_reference"],
    ),
    ("outbox_event", "ix_pixelplus_outbox_event_status", "ix_outbox_event_status", ["status"]),
    (
        "outbox_event",
        "ix_pixelplus_outbox_event_test_event_code",
        "ix_outbox_event_test_event_code",
        ["test_event_code"],
    ),
    ("delivery_attempt", "ix_pixelplus_attempt_at", "ix_delivery_attempt_at", ["at"]),
    ("decision", "ix_pixelplus_decision_at", "ix_decision_at", ["at"]),
    ("decision", "ix_pixelplus_decision_order_id", "ix_decision_order_id", ["order_id"]),
    ("decision", "ix_pixelplus_decision_outcome", "ix_decision_outcome", ["outcome"]),
]
# PostgreSQL names a serial column's sequence after its table; keep the names matching the tables.
SEQUENCES = {
    "pixelplus_outbox_event": "outbox_event",
    "pixelplus_attempt": "delivery_attempt",
    "pixelplus_decision": "decision",
}


def _rename(tables: dict, indexes: list, sequences: dict) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for old, new in tables.items():
        op.rename_table(old, new)
    for table, old_index, new_index, columns in indexes:
        if postgres:
            op.execute(f'ALTER INDEX "{old_index}" RENAME TO "{new_index}"')
        else:
            op.drop_index(old_index, table_name=table)
            op.create_index(new_index, table, columns, unique=False)
    if postgres:
        for old, new in sequences.items():
            op.execute(f'ALTER SEQUENCE IF EXISTS "{old}_id_seq" RENAME TO "{new}_id_seq"')


def upgrade():
    _rename(TABLES, INDEXES, SEQUENCES)
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("destination", sa.String(length=32), nullable=False, server_default="meta_capi"))
        batch_op.create_index("ix_decision_destination", ["destination"], unique=False)
    op.create_table(
        "delivery_destination_state",
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("opened_at", core.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("next_probe_at", core.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("probe_claim", sa.String(length=64), nullable=True),
        sa.Column("probe_until", core.dbtypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("destination", name="pk_delivery_destination_state"),
    )


def downgrade():
    op.drop_table("delivery_destination_state")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_destination")
        batch_op.drop_column("destination")
    back_tables = {new: old for old, new in TABLES.items()}
    back_indexes = [(back_tables[table], new, old, columns) for table, old, new, columns in INDEXES]
    _rename(back_tables, back_indexes, {new: old for old, new in SEQUENCES.items()})
