"""The archive's SQLAlchemy engine: one per process, URL and schema, created on first use (never at import).

Two backends: PostgreSQL (production) and SQLite (the embedded demo mode, a file next to the demo's logs).

- PostgreSQL: connecting, each statement and each reply are bounded by ``COORD_DATABASE_CONNECT_TIMEOUT_SECONDS``
  and ``COORD_DATABASE_STATEMENT_TIMEOUT_SECONDS`` (:mod:`coordination.archive.timeouts`), so a database that
  hangs fails an archive run within those time-outs and the next run tries again.

- PostgreSQL: the engine maps the schema-less tables of :mod:`coordination.archive.tables` to
  ``settings.database_schema`` (``schema_translate_map``), so pointing ``COORD_DATABASE_SCHEMA`` elsewhere moves
  the whole archive (tests give each test a schema of its own).
- SQLite: there are no schemas (``COORD_DATABASE_SCHEMA`` is ignored). Every connection is set up on connect for
  a writer and readers in other processes: WAL journal (readers never block the writer), a busy timeout (a writer
  waits for the other one instead of failing), and transactions begun by SQLAlchemy rather than by the ``sqlite3``
  module, whose implicit ``BEGIN`` breaks savepoints (SQLAlchemy's documented recipe).

An engine created before ``fork()`` is never used by the child: the cache is keyed by process id, as the Redis
clients are.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from config.settings import SettingsError, get_settings
from coordination.archive import timeouts

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
# How long a SQLite connection waits for another writer's lock before failing (beat and the CLI may overlap).
BUSY_TIMEOUT_MS = 5000
# SQLSTATEs of a missing table or schema (PostgreSQL): the archive was never migrated.
_NOT_MIGRATED_SQLSTATES = frozenset({"42P01", "3F000"})

_lock = threading.Lock()
_engines: dict[tuple[int, str, str], tuple[Engine, Engine]] = {}


def backend() -> str:
    """The archive's backend, ``"postgresql"`` or ``"sqlite"``, from ``settings.database_url``.

    Raises:
        SettingsError: the URL is neither a PostgreSQL URL nor a SQLite file URL.
    """
    url = get_settings().database_url.get_secret_value()
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise SettingsError(f"COORD_DATABASE_URL: not a database URL ({error})") from error
    name = parsed.get_backend_name()
    if name == SQLITE:
        if parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
            # Every connection (and the migration's own) would see a database of its own.
            raise SettingsError(
                "COORD_DATABASE_URL: the SQLite archive needs a file (sqlite:///path/to/archive.sqlite), "
                "not an in-memory database"
            )
        return SQLITE
    if name != POSTGRESQL:
        raise SettingsError(
            "COORD_DATABASE_URL: the archive needs PostgreSQL (postgresql+psycopg://...), or SQLite for the "
            f"embedded demo mode (sqlite:///path/to/archive.sqlite); got a {name!r} URL"
        )
    return POSTGRESQL


def database_url() -> str:
    """The archive's SQLAlchemy URL (``settings.database_url``).

    Raises:
        SettingsError: the URL is neither a PostgreSQL URL nor a SQLite file URL.
    """
    backend()
    return get_settings().database_url.get_secret_value()


def schema_name() -> str | None:
    """The PostgreSQL schema holding the archive tables (``settings.database_schema``); None on SQLite.

    Raises:
        SettingsError: the URL is neither a PostgreSQL URL nor a SQLite file URL.
    """
    return get_settings().database_schema if backend() == POSTGRESQL else None


def location() -> str:
    """Where the archive tables are, for messages: ``schema 'public'`` or ``SQLite database '/path'``."""
    try:
        schema = schema_name()
    except SettingsError:
        return "the archive database"
    if schema is not None:
        return f"schema {schema!r}"
    return f"SQLite database {make_url(get_settings().database_url.get_secret_value()).database!r}"


def is_not_migrated(error: SQLAlchemyError) -> bool:
    """True when ``error`` says that the archive tables (or their schema) do not exist."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) in _NOT_MIGRATED_SQLSTATES:
        return True
    # sqlite3 has no SQLSTATE; a missing table is an OperationalError with this message.
    return str(original or "").startswith("no such table")


def create_archive_engine(url: str, **options: Any) -> Engine:
    """``create_engine(url, **options)``, with the connection set-up each backend needs (see the module).

    On PostgreSQL every wait is bounded by the settings' time-outs (:mod:`coordination.archive.timeouts`).
    """
    if make_url(url).get_backend_name() == POSTGRESQL:
        settings = get_settings()
        options["connect_args"] = {**timeouts.connect_args(settings), **options.get("connect_args", {})}
        engine = create_engine(url, **options)
        timeouts.bound_replies(engine, settings)
        return engine
    engine = create_engine(url, **options)
    if engine.dialect.name == SQLITE:
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # None: the sqlite3 module no longer issues BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # The timeout first: switching to WAL waits for a lock like any other write.
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def get_engine() -> Engine:
    """Return this process's engine for the configured URL (on PostgreSQL, mapped to the configured schema).

    Raises:
        SettingsError: the URL is neither a PostgreSQL URL nor a SQLite file URL.
    """
    settings = get_settings()
    key = (os.getpid(), settings.database_url.get_secret_value(), settings.database_schema)
    found = _engines.get(key)
    if found is None:
        with _lock:
            found = _engines.get(key)
            if found is None:
                found = _create(settings.database_url.get_secret_value(), settings.database_schema)
                _engines[key] = found
    return found[1]


def _create(url: str, schema: str) -> tuple[Engine, Engine]:
    # Beat and CLI processes hold few connections; a dead one is replaced, not reported.
    pool: dict[str, Any] = {"pool_size": 2, "max_overflow": 4, "pool_pre_ping": True}
    if backend() == SQLITE:
        base = create_archive_engine(url, **pool)
        return base, base
    base = create_archive_engine(url, **pool)
    # Batched upserts as multi-row INSERT ... VALUES statements ("insertmanyvalues"), also without RETURNING:
    # measured ~25 % faster here than psycopg's row-by-row executemany pipeline.
    base.dialect.use_insertmanyvalues_wo_returning = True
    return base, base.execution_options(schema_translate_map={None: schema})


def reset_engines() -> None:
    """Close and forget every engine of this process (after the settings changed, in tests and the CLI)."""
    with _lock:
        for base, _mapped in _engines.values():
            base.dispose()
        _engines.clear()
