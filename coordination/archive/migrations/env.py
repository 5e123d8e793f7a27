"""Alembic environment of the archive: URL and schema come from the service settings, never from alembic.ini.

On PostgreSQL every table, and Alembic's own ``alembic_version`` table, lives in ``settings.database_schema``;
the schema is created when missing. On SQLite there is no schema, and ALTERs run in batch mode (SQLite's
``ALTER TABLE`` is limited: a table is copied instead). :func:`coordination.archive.migrate.upgrade` passes an
open connection in ``config.attributes["connection"]``; the ``alembic`` command line gets a connection made here.
"""

from __future__ import annotations

import logging.config

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection, text
from sqlalchemy.pool import NullPool

from config.settings import SettingsError, get_settings
from coordination.archive.engine import create_archive_engine, database_url, schema_name
from coordination.archive.tables import metadata

config = context.config

# Only the command line configures logging; a programmatic upgrade inside a service keeps the service's logging.
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def _run(connection: Connection) -> None:
    schema = schema_name()
    if schema is not None:
        quoted = connection.dialect.identifier_preparer.quote_schema(schema)
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
        # Unqualified names (the migration's own queries, autogenerate comparisons) resolve in the archive schema.
        connection.execute(text(f"SET LOCAL search_path TO {quoted}"))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade head --sql``)."""
    schema = schema_name()
    context.configure(
        url=database_url(),
        target_metadata=metadata,
        version_table_schema=schema,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=schema is None,  # SQLite
    )
    with context.begin_transaction():
        if schema is not None:
            quoted = context.get_context().dialect.identifier_preparer.quote_schema(schema)
            context.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a new one to the configured database."""
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        with given.begin():
            _run(given)
        return
    engine = create_archive_engine(database_url(), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


try:
    get_settings()
except SettingsError as error:
    # The `alembic` command prints a CommandError as one "FAILED: ..." line instead of a traceback.
    raise CommandError(str(error)) from None

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
