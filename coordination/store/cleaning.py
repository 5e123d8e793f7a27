"""Removing one namespace's keys (coordination store) and one deployment's queues (broker): ``coord clean``.

Keys are found with ``SCAN`` by the exact prefix ``<namespace>:`` (glob characters escaped, every key checked
again against the prefix) and removed with ``UNLINK`` in batches; nothing else on the server is touched, and
``FLUSHDB``/``FLUSHALL`` are never used. A queue is its list in the broker, the lists kombu keeps for its
priorities, and its binding sets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from config.settings import get_settings
from coordination.ids import validate_id
from coordination.store.connection import sync_client

#: Keys removed per UNLINK.
_BATCH = 500
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
#: Suffixes of the lists kombu's Redis transport keeps for a queue's message priorities.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


@dataclass(frozen=True)
class CleanPlan:
    """What :func:`clean` would remove.

    Attributes:
        namespace: the root prefix (``COORD_NAMESPACE``) whose keys go.
        store_keys: every key of the namespace in the coordination store.
        running: coordinations still running in the namespace (they would be lost).
        queue_keys: the broker keys of the queues (lists and bindings) that exist.
        queued_messages: messages waiting in those queues.
    """

    namespace: str
    store_keys: list[str]
    running: list[str]
    queue_keys: list[str] = field(default_factory=list)
    queued_messages: int = 0

    @property
    def empty(self) -> bool:
        """True when there is nothing to remove."""
        return not self.store_keys and not self.queue_keys


def glob_prefix(prefix: str) -> str:
    """A SCAN pattern matching exactly the keys that start with ``prefix``."""
    return _GLOB_SPECIAL.sub(r"\\\1", prefix) + "*"


def plan_clean(
    namespace: str, queues: Sequence[str], store_url: str | None = None, broker_url: str | None = None
) -> CleanPlan:
    """Find what belongs to ``namespace`` in the store and to ``queues`` in the broker (nothing is changed).

    ``store_url`` and ``broker_url`` default to ``COORD_REDIS_URL`` and ``COORD_BROKER_URL``.

    Raises:
        InvalidIdError: the namespace or a queue name is not a valid id.
    """
    validate_id(namespace, "namespace")
    for queue in queues:
        validate_id(queue, "queue")
    store = sync_client(store_url)
    prefix = f"{namespace}:"
    keys = sorted(key for key in store.scan_iter(match=glob_prefix(prefix), count=1000) if key.startswith(prefix))
    running: set[str] = set()
    for key in keys:
        if key.endswith("}:active") and store.type(key) == "set":
            running.update(store.smembers(key))
    broker = sync_client(broker_url or _broker_url())
    queue_keys: list[str] = []
    messages = 0
    for queue in queues:
        for suffix in _PRIORITY_SUFFIXES:
            name = queue + suffix
            if broker.exists(name):
                queue_keys.append(name)
                messages += int(broker.llen(name))
        for binding in (f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"):
            if broker.exists(binding):
                queue_keys.append(binding)
    return CleanPlan(namespace, keys, sorted(running), queue_keys, messages)


def clean(plan: CleanPlan, store_url: str | None = None, broker_url: str | None = None) -> int:
    """Remove what ``plan`` lists; return how many keys were removed."""
    removed = _unlink(sync_client(store_url), plan.store_keys)
    return removed + _unlink(sync_client(broker_url or _broker_url()), plan.queue_keys)


def _broker_url() -> str:
    return str(get_settings().broker_url)


def _unlink(client: Any, keys: Iterable[str]) -> int:
    pending = list(keys)
    removed = 0
    for start in range(0, len(pending), _BATCH):
        removed += int(client.unlink(*pending[start : start + _BATCH]))
    return removed
