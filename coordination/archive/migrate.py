"""Running the archive's Alembic migrations from Python (``coord db upgrade`` calls :func:`upgrade`).

The migrations ship inside the package (``coordination/archive/migrations``), so this works from an installed
package as well as from a checkout; ``alembic.ini`` at the repository root points the ``alembic`` command at the
same directory.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from coordination.archive.engine import create_archive_engine, database_url, schema_name
from coordination.errors import ArchiveUnavailableError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic configuration for the packaged migrations (URL and schema are read from the settings)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["configure_logging"] = False
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this version of the package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(revision: str = "head") -> None:
    """Bring the archive tables to ``revision``.

    On PostgreSQL, in ``settings.database_schema`` (created if missing); on SQLite, in the database file (created
    if missing, in a directory that must exist). Idempotent: at the target revision already, nothing happens.

    Raises:
        ArchiveUnavailableError: the database could not be reached.
        SettingsError: ``COORD_DATABASE_URL`` is neither a PostgreSQL URL nor a SQLite file URL.
    """
    engine = create_archive_engine(database_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as error:
        raise ArchiveUnavailableError(
            f"archive database unreachable ({_first_line(error)}); check COORD_DATABASE_URL"
        ) from error
    finally:
        engine.dispose()


def current_revision() -> str | None:
    """The revision the archive schema is at (None when it was never migrated).

    Raises:
        ArchiveUnavailableError: the database could not be reached.
        SettingsError: ``COORD_DATABASE_URL`` is neither a PostgreSQL URL nor a SQLite file URL.
    """
    schema = schema_name()
    engine = create_archive_engine(database_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if schema is not None:
                quoted = connection.dialect.identifier_preparer.quote_schema(schema)
                connection.execute(text(f"SET search_path TO {quoted}"))
            context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
            try:
                return context.get_current_revision()
            except ProgrammingError:  # the schema does not exist yet
                return None
    except OperationalError as error:
        raise ArchiveUnavailableError(
            f"archive database unreachable ({_first_line(error)}); check COORD_DATABASE_URL"
        ) from error
    finally:
        engine.dispose()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
