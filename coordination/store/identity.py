"""The store's identity: a generation written at first use, so a Redis that came back empty is noticed.

Redis that restarts without persistence (or is replaced) comes back empty and says nothing. Every process that
relies on the store (beat every second, ``coord check``) reads the generation; a process that saw one generation
and then finds none or another knows the store lost its data, and says so loudly. The coordinations that were
running then are found by the archive (it knows them as running; Redis no longer has them) and marked ``lost``.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from config.settings import get_settings
from coordination.store.keys import store_identity

logger = logging.getLogger(__name__)

_seen: dict[str, str] = {}


@dataclass(frozen=True)
class Generation:
    """One life of the store: its random id and when it began (ms); ``new``: this call began it."""

    generation: str
    created_ms: int
    new: bool


def current_generation(client: Any) -> Generation:
    """Read the store's generation, writing a new one if the store has none (one round trip, atomic)."""
    key = store_identity(get_settings().namespace)
    candidate = uuid.uuid4().hex
    pipe = client.pipeline(transaction=True)
    pipe.hsetnx(key, "generation", candidate)
    pipe.hsetnx(key, "created_ms", int(time.time() * 1000))
    pipe.hmget(key, "generation", "created_ms")
    created, _, (generation, created_ms) = pipe.execute()
    return Generation(str(generation), int(created_ms), bool(created))


def check_generation(client: Any) -> Generation:
    """Read the generation and log at ERROR when it changed since this process last saw it (data loss)."""
    found = current_generation(client)
    root = get_settings().namespace
    before = _seen.get(root)
    if before is not None and before != found.generation:
        logger.error(
            "the coordination store lost its data: its generation changed from %s to %s (Redis restarted without "
            "persistence, or was replaced). Coordinations that were running are lost; the next archive run marks "
            "them 'lost'. Run Redis with appendonly yes (docs/operations.md).",
            before,
            found.generation,
        )
    _seen[root] = found.generation
    return found
