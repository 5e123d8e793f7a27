"""History out of Redis: what beat archives, and how it is read back (see docs/archive.md).

The archive database is PostgreSQL in production, SQLite in the embedded demo mode. Modules: ``tables``
(SQLAlchemy Core tables and their natural keys), ``engine`` (the per-process engine: mapped to
``settings.database_schema`` on PostgreSQL, set up for WAL on SQLite), ``writer`` (``archive_once``, run by
beat), ``expiry`` (``expire_archived``), ``rows`` and ``snapshots`` (what the writer reads from Redis and turns
into rows), ``reader`` (``archived_status``, ``archived_signals``, ``archived_history``), ``migrate`` (Alembic,
``coord db upgrade``). Nothing here opens a connection at import.
"""
