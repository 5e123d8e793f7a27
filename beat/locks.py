"""A short Redis lock so that runs of one periodic task never overlap (even with two beats by mistake)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from coordination.pipeline.components import components
from coordination.store.connection import sync_client
from coordination.store.scripts import script


@contextmanager
def held(name: str, ttl_seconds: float) -> Iterator[bool]:
    """Try to take the lock ``name`` for at most ``ttl_seconds``; yield whether it was taken.

    The lock expires by itself, so a run killed mid-way cannot block later runs for longer than the TTL.
    """
    key = components().keys.lock(name)
    token = uuid.uuid4().hex
    taken = bool(sync_client().set(key, token, nx=True, px=int(ttl_seconds * 1000)))
    try:
        yield taken
    finally:
        if taken:
            script("lock_release")(sync_client(), [key], [token])
