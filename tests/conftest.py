"""Test fixtures: real services, isolated by key prefix and namespace, never flushed.

Service fixtures ping first. Locally a missing service skips the test with a message; with ``CI`` set it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

# Every key this test session writes starts with its own root prefix, set before any settings are read.
SESSION_ROOT = f"test-{uuid.uuid4().hex[:12]}"
os.environ["COORD_NAMESPACE"] = SESSION_ROOT
os.environ.setdefault("COORD_REDIS_URL", "redis://127.0.0.1:6379/2")

from config.settings import reload_settings  # noqa: E402
from coordination.store.connection import reset_clients, sync_client  # noqa: E402

reload_settings()

IN_CI = bool(os.environ.get("CI"))


def _missing(service: str, error: Exception) -> None:
    message = f"{service} is not reachable ({error}); start it with `make services`"
    if IN_CI:
        pytest.fail(message + " -- required when CI is set", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A reachable Redis; yields the store URL. Deletes the session's keys at the end."""
    reset_clients()
    client = sync_client()
    try:
        client.ping()
    except Exception as error:  # any connection problem means "not reachable"
        _missing("Redis", error)
    yield str(client.connection_pool.connection_kwargs.get("host"))
    for key in client.scan_iter(match=f"{SESSION_ROOT}:*", count=1000):
        client.delete(key)


@pytest.fixture
def namespace(redis_server: str) -> str:
    """A namespace of its own for one test."""
    return f"ns-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_client(redis_server: str):  # type: ignore[no-untyped-def]
    """The blocking coordination-store client."""
    return sync_client()


def forget_queue(queue: str) -> None:
    """Delete what kombu keeps in the broker for a test queue (never anything else on the shared server)."""
    from config.settings import get_settings
    from coordination.store.connection import close_client, new_sync_client

    broker = new_sync_client(get_settings().broker_url.get_secret_value())  # a Sentinel URL too
    try:
        broker.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        close_client(broker)


def keys_of(namespace: str) -> list[str]:
    """Every key of the session that mentions ``namespace`` (to check that nothing was written).

    Leaves out the replies that guarded scripts keep for a minute so that a resend is answered (they expire; this
    checks that they do).
    """
    from coordination.store.scripts import REPLY_TTL_MS

    client = sync_client()
    found = sorted(client.scan_iter(match=f"{SESSION_ROOT}:*{namespace}*", count=1000))
    replies = [key for key in found if ":reply:" in key]
    assert all(0 < client.pttl(key) <= REPLY_TTL_MS for key in replies), "a script reply would never expire"
    return [key for key in found if key not in replies]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A reachable PostgreSQL (the archive); yields its SQLAlchemy URL. Tests create schemas of their own in it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from config.settings import get_settings

    url = get_settings().database_url.get_secret_value()
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as error:  # any connection problem means "not reachable"
        _missing("PostgreSQL", error)
    finally:
        engine.dispose()
    yield url
