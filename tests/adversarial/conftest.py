"""Fixtures of the adversarial suite: a seeded namespace and a snapshot of everything stored under it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from config.settings import reload_settings
from coordination.context import ContextDistributor
from coordination.errors import InvalidInputError
from coordination.signals import SignalCoordinator
from coordination.state import ThreadSafeState
from coordination.store.connection import sync_client
from tests.conftest import SESSION_ROOT

#: Ids that cannot become part of a key (the rule is ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$).
BAD_IDS: list[Any] = [
    "",
    " ",
    "-dash-first",
    ".dot-first",
    "has space",
    "colon:inside",
    "brace{tag}",
    "slash/inside",
    "star*",
    "x" * 129,
    "é",
    "\x1b[31mred",
    "line\nbreak",
    "[/x]",
    "nul\x00byte",
    "\ud800",
]
#: The same, with non-strings (for Python API arguments).
BAD_ID_VALUES: list[Any] = [*BAD_IDS, 42, None, ["a"], b"bytes"]


def deep(levels: int) -> Any:
    """A list nested ``levels`` deep."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def circular() -> Any:
    loop: list[Any] = []
    loop.append(loop)
    return loop


#: Values the one JSON rule refuses, with the error's class name and what the message says; the path inside the
#: value is always ``.x`` (the values are wrapped as ``{"x": value}``).
BAD_JSON_VALUES: list[tuple[str, Any, str, str]] = [
    ("nan", math.nan, "NotSerializableError", "finite"),
    ("inf", math.inf, "NotSerializableError", "finite"),
    ("-inf", -math.inf, "NotSerializableError", "finite"),
    ("set", {1, 2}, "NotSerializableError", "set"),
    ("frozenset", frozenset({"a"}), "NotSerializableError", "frozenset"),
    ("datetime", datetime(2024, 1, 1, tzinfo=UTC), "NotSerializableError", "datetime"),
    ("bytes", b"raw", "NotSerializableError", "bytes"),
    ("object", object(), "NotSerializableError", "object"),
    ("2**53", 2**53, "NotSerializableError", "2**53 - 1"),
    ("-2**53", -(2**53), "NotSerializableError", "2**53 - 1"),
    ("2**64", 2**64, "NotSerializableError", "2**53 - 1"),
    ("lone surrogate", "ok\ud800", "NotSerializableError", "lone surrogate"),
    ("surrogate key", {"\udc00": 1}, "NotSerializableError", "lone surrogate"),
    ("65 levels", deep(64), "PayloadTooLargeError", "more than 64 levels"),
    ("10000 levels", deep(10_000), "PayloadTooLargeError", "more than 64 levels"),
    ("circular", circular(), "NotSerializableError", "circular"),
    ("tuple key", {(1, 2): "v"}, "NotSerializableError", "tuple key"),
]
BAD_JSON_IDS = [case[0] for case in BAD_JSON_VALUES]


def _content(client: Any, key: str) -> Any:
    kind = client.type(key)
    if kind == "hash":
        return kind, client.hgetall(key)
    if kind == "stream":
        return kind, client.xrange(key)
    if kind == "set":
        return kind, sorted(client.smembers(key))
    if kind == "zset":
        return kind, client.zrange(key, 0, -1, withscores=True)
    if kind == "list":
        return kind, client.lrange(key, 0, -1)
    if kind == "string":
        return kind, client.get(key)
    return kind, None


class Store:
    """What the session's Redis holds under one namespace (every key mentioning it, with its content)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def snapshot(self) -> dict[str, Any]:
        client = sync_client()
        keys = client.scan_iter(match=f"{SESSION_ROOT}:*{self.namespace}*", count=1000)
        return {key: _content(client, key) for key in sorted(keys)}

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Assert that the block changes nothing under the namespace (no key added, removed or changed)."""
        before = self.snapshot()
        yield
        after = self.snapshot()
        added, removed = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
        assert not added and not removed, f"keys added {added}, removed {removed}"
        changed = [key for key in before if before[key] != after[key]]
        assert not changed, f"keys changed: {changed}"


@pytest.fixture
def store(namespace: str) -> Store:
    return Store(namespace)


@pytest.fixture
def seeded(namespace: str) -> dict[str, Any]:
    """A namespace that already holds state, a coordination's signals and its contexts (so partial writes show)."""
    state: ThreadSafeState[Any] = ThreadSafeState({"phase": "models"}, namespace=namespace)
    state.update({"count": 3, "items": [1, 2]}, changed_by="seed")
    signals = SignalCoordinator(state)
    signals.emit_sync("c1", [{"event_type": "agent_initialized", "sender_agent_id": "a1", "event_data": {"n": 1}}])
    contexts = ContextDistributor(state)
    contexts.distribute_agent_context_sync(
        {"coordination_id": "c1", "session_id": "s1"}, {"a1": {"objective": "x"}, "a2": {}}
    )
    return {"state": state, "signals": signals, "contexts": contexts}


Refuse = Callable[..., InvalidInputError]


@pytest.fixture
def refused(store: Store) -> Refuse:
    """``refused(call, error, field, words)``: ``call()`` raises ``error`` (an InvalidInputError) naming ``field``
    (the error's field starts with it and the message starts with the field), mentions ``words``, and writes
    nothing."""

    def check(call: Callable[[], Any], error: type[InvalidInputError] | str, field: str, words: str = "") -> Any:
        expected = InvalidInputError if isinstance(error, str) else error
        with store.unchanged(), pytest.raises(expected) as raised:
            call()
        found = raised.value
        if isinstance(error, str):
            assert type(found).__name__ == error, f"{type(found).__name__}: {found}"
        assert found.field.startswith(field), f"field {found.field!r} does not start with {field!r}"
        assert str(found).startswith(f"{found.field}: ")
        assert words in found.problem, f"{words!r} not in {found.problem!r}"
        str(found).encode("utf-8")  # the message itself can be printed and logged
        return found

    return check


@pytest.fixture
def pipeline_namespace(namespace: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI's pipeline components use the test's namespace."""
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", namespace)
    reload_settings()
    yield namespace
    monkeypatch.undo()
    reload_settings()
