"""Alembic revisions of the archive, oldest first."""
