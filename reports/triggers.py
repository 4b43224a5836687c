"""The database triggers that note each order whose rows change, for the reports' roll-up (reports.summary).

A trigger sees every change, whoever makes it: the shop's pages and API, postbacks, the delivery
worker, a script or a raw import; so no write path has to remember the reports. Each writes one row
(the order's id) into report_change, in the same transaction as the change.
"""

from sqlalchemy import event

# table: how a changed row (NEW or OLD, in both databases) names its order
WATCHED = {
    "payment": "order_id",
    "order_history": "order_id",
    "credit_slip": "order_id",
    "order_line": "order_id",
    "credit_slip_line": "SELECT order_id FROM credit_slip WHERE id = {row}.credit_slip_id",
    "orders": "id",
}
OPERATIONS = {"INSERT": ("NEW",), "UPDATE": ("NEW", "OLD"), "DELETE": ("OLD",)}
# An order's own row matters only for what its facts copy (a status change already writes history).
ONLY = {"orders": ("UPDATE", "OF currency, utm_source, utm_campaign, customer_id")}


def _operations(table: str) -> dict[str, tuple[str, ...]]:
    if table in ONLY:
        return {ONLY[table][0]: ("NEW",)}  # an order keeps its id
    return OPERATIONS


def _event(table: str, operation: str) -> str:
    return f"{operation} {ONLY[table][1]}" if table in ONLY else operation


def _noted(table: str, row: str) -> str:
    """The statement noting the order of the row (NEW or OLD); nothing when the order is gone already."""
    column = WATCHED[table]
    found = column.format(row=row) if column.startswith("SELECT") else f"VALUES ({row}.{column})"
    return f"INSERT INTO report_change (order_id) {found};"


def _name(table: str, operation: str = "") -> str:
    return f"report_change_{table}{'_' + operation.lower() if operation else ''}"


def create_statements(dialect: str) -> list[str]:
    """The statements that create the triggers (and PostgreSQL's trigger functions), replacing old ones."""
    statements = drop_statements(dialect)
    for table in WATCHED:
        if dialect == "postgresql":
            inserts = "\n".join(
                f"  IF TG_OP IN ({', '.join(repr(op) for op, rows in _operations(table).items() if row in rows)}) THEN "
                f"{_noted(table, row)} END IF;"
                for row in ("NEW", "OLD")
                if any(row in rows for rows in _operations(table).values())
            )
            events = " OR ".join(_event(table, operation) for operation in _operations(table))
            statements.append(
                f"CREATE OR REPLACE FUNCTION {_name(table)}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n{inserts}\n  RETURN NULL;\nEND $$"
            )
            statements.append(
                f"CREATE TRIGGER {_name(table)} AFTER {events} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {_name(table)}()"
            )
        else:
            for operation, rows in _operations(table).items():
                values = " ".join(_noted(table, row) for row in rows)
                when = f"AFTER {_event(table, operation)} ON {table}"
                statements.append(f"CREATE TRIGGER {_name(table, operation)} {when} BEGIN {values} END")
    return statements


def drop_statements(dialect: str) -> list[str]:
    """The statements that remove the triggers (for a downgrade, or before creating them again)."""
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {_name(table)} ON {table}" for table in WATCHED] + [
            f"DROP FUNCTION IF EXISTS {_name(table)}()" for table in WATCHED
        ]
    return [f"DROP TRIGGER IF EXISTS {_name(table, operation)}" for table in WATCHED for operation in OPERATIONS]


# An outbox row changing status (sent, failed, queued again) changes what a destination was told, not what
# the order gave back: noted apart, so only the order's told rows are redone (reports.told). A new outbox
# row needs no trigger: a module writes it with the status change or credit slip, which is noted already;
# and the delivery worker's other updates (claims, attempts, next try) change nothing a report shows.
TOLD_NOTE = "INSERT INTO report_told_change (order_id) VALUES (NEW.order_id);"
TOLD_FUNCTION = (
    "CREATE OR REPLACE FUNCTION report_told_change_outbox_event() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    f"BEGIN\n  {TOLD_NOTE}\n  RETURN NULL;\nEND $$"
)
TOLD_WHEN = {
    "postgresql": "(OLD.status IS DISTINCT FROM NEW.status AND NEW.order_id IS NOT NULL)",
    "sqlite": "OLD.status IS NOT NEW.status AND NEW.order_id IS NOT NULL",
}


def told_create_statements(dialect: str) -> list[str]:
    """The statements that create the outbox trigger noting changed told rows, replacing an old one."""
    when = f"AFTER UPDATE OF status ON outbox_event FOR EACH ROW WHEN {TOLD_WHEN.get(dialect, TOLD_WHEN['sqlite'])}"
    if dialect == "postgresql":
        return [
            *told_drop_statements(dialect),
            TOLD_FUNCTION,
            f"CREATE TRIGGER report_told_change_outbox_event {when} EXECUTE FUNCTION report_told_change_outbox_event()",
        ]
    return [
        *told_drop_statements(dialect),
        f"CREATE TRIGGER report_told_change_outbox_event {when} BEGIN {TOLD_NOTE} END",
    ]


def told_drop_statements(dialect: str) -> list[str]:
    """The statements that remove the outbox trigger."""
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS report_told_change_outbox_event ON outbox_event",
            "DROP FUNCTION IF EXISTS report_told_change_outbox_event()",
        ]
    return ["DROP TRIGGER IF EXISTS report_told_change_outbox_event"]


def _create(_metadata, connection, **_kw) -> None:
    if connection.dialect.has_table(connection, "report_change"):
        for statement in create_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)
    if connection.dialect.has_table(connection, "report_told_change"):
        for statement in told_create_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)


def install_on_create(metadata) -> None:
    """Create the triggers whenever ``metadata.create_all`` builds the schema (tests, a fresh database)."""
    if not event.contains(metadata, "after_create", _create):
        event.listen(metadata, "after_create", _create)
