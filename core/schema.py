"""The database schema: bring it to the newest migration, adopting a database made by ``db.create_all()``."""

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from extensions import db


def upgrade_schema() -> None:
    """Run every migration not yet applied (the same as ``flask db upgrade``).

    A database without Alembic's version table but with the shop's tables was made by ``db.create_all()``:
    by release 0.1 (the initial migration adopts it as it is) or from today's models (a test's database);
    the latter already matches the newest revision and is only stamped with it.
    """
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        unversioned = context.get_current_revision() is None and sa.inspect(connection).has_table("orders")
        matches_models = unversioned and not compare_metadata(context, db.metadata)
    if matches_models:
        flask_migrate.stamp()
    flask_migrate.upgrade()
