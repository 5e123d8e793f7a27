"""A short Redis lock so that runs of one periodic task never overlap (even with two beats by mistake)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from coordination.pipeline.components import components
from coordination.store.connection import sync_client
from coordination.store.scripts import script


@dataclass
class Lock:
    """A held lock; :meth:`renew` extends it while the run goes on (False: it was lost, stop)."""

    key: str
    token: str
    ttl_ms: int
    taken: bool

    def __bool__(self) -> bool:
        return self.taken

    def renew(self) -> bool:
        """Extend the lock by its time-to-live; False when another run holds it now."""
        return self.taken and bool(script("lock_renew")(sync_client(), [self.key], [self.token, self.ttl_ms]))


@contextmanager
def held(name: str, ttl_seconds: float) -> Iterator[Lock]:
    """Try to take the lock ``name`` for ``ttl_seconds`` (renewable); yield it (``lock.taken`` tells).

    The lock expires by itself, so a run killed mid-way cannot block later runs for longer than the TTL.
    """
    key = components().keys.lock(name)
    token = uuid.uuid4().hex
    ttl_ms = int(ttl_seconds * 1000)
    lock = Lock(key, token, ttl_ms, bool(sync_client().set(key, token, nx=True, px=ttl_ms)))
    try:
        yield lock
    finally:
        if lock.taken:
            script("lock_release")(sync_client(), [key], [token])
