"""Alembic environment for golf's store: run by sweeper/store/migrate.py on the connection (and
inside the transaction) that the store opened, never from an alembic.ini.

To write a new revision: change sweeper/store/schema.py, then add versions/NNNN_what.py with
`down_revision` the previous one (`alembic revision` is not needed; copy the shape of the last
file), and bump SCHEMA_VERSION in schema.py, which the revision writes to golf_meta.
"""
from alembic import context

from sweeper.store.schema import metadata

connection = context.config.attributes["connection"]
# render_as_batch: SQLite alters most columns only by copying the table; batch mode does that.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():  # a no-op: the store's own transaction is already open
    context.run_migrations()
