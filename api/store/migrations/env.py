"""Alembic environment of the qauipsiz store.

Run through :meth:`qauipsiz.api.store.Store.migrate` (which passes an open connection), or with the
``alembic`` command and ``-x url=<SQLAlchemy URL>`` / ``DATABASE_URL``.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from qauipsiz.api.store.models import metadata

config = context.config
target_metadata = metadata


def _run(connection) -> None:
    schema = None
    if connection.dialect.name == "postgresql":  # the version table lives in our own schema
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    context.configure(connection=connection, target_metadata=target_metadata, version_table_schema=schema,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:  # DATABASE_URL, or the embedded store under QAUIPSIZ_DATA_DIR
        from qauipsiz.api.settings import get_settings

        url = get_settings().database_url
    with create_engine(url).begin() as conn:
        _run(conn)
