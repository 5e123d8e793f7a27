"""Alembic migrations of the archive (run them with ``coord db upgrade`` or ``alembic upgrade head``)."""
