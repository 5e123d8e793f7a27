"""The bench's own root key prefix, and the clean-up of every key written under it.

Everything the suite writes lives under ``bench-<hex8>:``; the keys are deleted with SCAN + UNLINK at the end.
The server is never flushed: other users of the same Redis keep their data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import redis

_ENV = "COORD_NAMESPACE"
_active: dict[str, str | None] = {}


def use_fresh_namespace() -> str:
    """Point the coordination settings at a new ``bench-<hex8>`` root prefix (once per run) and return it.

    Sets ``COORD_NAMESPACE`` (so child processes inherit it) and reloads the settings and clients in case
    ``coordination`` was imported already (the ``coord bench`` CLI path).
    """
    if "root" in _active and _active["root"] is not None:
        return _active["root"]
    _active["previous"] = os.environ.get(_ENV)
    root = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ[_ENV] = root
    _active["root"] = root
    _reload()
    return root


def restore_namespace() -> None:
    """Give back the root prefix that was configured before :func:`use_fresh_namespace`."""
    if _active.get("root") is None:
        return
    previous = _active.pop("previous", None)
    _active.pop("root", None)
    if previous is None:
        os.environ.pop(_ENV, None)
    else:
        os.environ[_ENV] = previous
    _reload()


def _reload() -> None:
    from config.settings import reload_settings
    from coordination.store.connection import reset_clients

    reload_settings()
    reset_clients()
    try:
        from coordination.archive.engine import reset_engines
    except ImportError:  # an installation without the archive
        return
    reset_engines()


@contextmanager
def overridden_settings(**environment: str) -> Iterator[None]:
    """Run with some ``COORD_*`` variables set (child processes inherit them), then restore them.

    Settings, store clients and archive engines are rebuilt on the way in and on the way out.
    """
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    _reload()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _reload()


def store_url() -> str:
    """The coordination store URL of the current settings."""
    from config.settings import get_settings

    return get_settings().redis_url.get_secret_value()


def delete_keys(root: str) -> int:
    """Delete every key under ``root:`` with SCAN + UNLINK; return how many were deleted."""
    client = redis.Redis.from_url(store_url())
    try:
        return unlink_in_batches(client, client.scan_iter(match=f"{root}:*", count=1000))
    finally:
        client.close()


def unlink_in_batches(client: redis.Redis, keys: Iterable[str | bytes]) -> int:
    """UNLINK ``keys`` 500 at a time; return how many existed."""
    deleted = 0
    batch: list[str | bytes] = []
    for key in keys:
        batch.append(key)
        if len(batch) >= 500:
            deleted += int(client.unlink(*batch))
            batch.clear()
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted
