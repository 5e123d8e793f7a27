"""Every key is spelled in one place: Lua builds the names keys.py builds, and a whole run leaves no other key."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from config.settings import get_settings
from coordination.archive.writer import archive_once
from coordination.pipeline.components import components
from coordination.store.connection import sync_client
from coordination.store.keys import LIMIT_PARTS, Keys, key_patterns
from coordination.store.scripts import reply_key, script
from tests.conftest import SESSION_ROOT
from tests.integration.test_archive import (  # noqa: F401  (archive: a fixture, used by name)
    agent_step,
    archive,
    start_pipeline,
    work,
)

pytestmark = pytest.mark.redis


def test_lua_builds_the_same_key_names_as_keys_py(redis_server: str) -> None:
    keys = Keys(SESSION_ROOT, "ns-probe")
    ck = keys.coordination("c-1")
    built = script("keys_probe")(
        sync_client(), [], [keys.namespace_prefix, keys.coordination_prefix, "c-1", "agent-1", "dep-1", "t-1"]
    )
    assert built == [
        keys.due,
        keys.agents_due,
        keys.active,
        keys.finished,
        keys.coordinations,
        keys.dependency_events,
        keys.routing_history,
        keys.state_data,
        ck.meta,
        ck.agents,
        ck.agent("agent-1"),
        ck.dependency("dep-1"),
        ck.dependencies,
        ck.agent_pending,
        ck.completed,
        ck.failed,
        ck.signals,
        ck.signal_ids,
        ck.signal_order,
        ck.signal_metrics,
        ck.contexts,
        ck.context_order,
        ck.workflow,
        ck.input,
        ck.logs,
        ck.agent_waiters("t-1"),
        keys.resource_waiters("t-1"),
        keys.gate_waiters("t-1"),
        "resource_t-1_available",
        "quality_gate_t-1_score",
        ck.resource_waiters("t-1"),
        ck.gate_waiters("t-1"),
        ck.approval_waiters("t-1"),
        ck.conditions,
        ck.approvals,
        keys.limit_keys,
        *(keys.limit("t-1", part) for part in LIMIT_PARTS),
    ]


def test_script_reply_keys_are_the_names_keys_py_declares() -> None:
    keys = Keys("root", "ns")
    assert reply_key(keys.state_data, "tok") == keys.reply("tok")
    assert reply_key(keys.namespace_prefix, "tok") == keys.reply("tok")
    assert reply_key(keys.coordination("c-1").meta, "tok") == keys.coordination("c-1").reply("tok")


def test_a_whole_run_archived_leaves_only_keys_that_keys_py_declares(archive, monkeypatch) -> None:  # noqa: F811
    cid, messages = start_pipeline(monkeypatch)
    work(messages, agent_step)
    assert archive_once().ok
    namespace = components().keys.namespace
    mentioned: list[Any] = [
        key for key in sync_client().scan_iter(match=f"{SESSION_ROOT}:*", count=1000) if namespace in key
    ]
    assert any(cid in key for key in mentioned)
    patterns = key_patterns(get_settings().namespace)
    strays = [key for key in mentioned if not any(pattern.fullmatch(key) for pattern in patterns)]
    assert strays == []
    unused = uuid.uuid4().hex  # (a key nobody declared is found: the check can fail)
    assert not any(pattern.fullmatch(f"{SESSION_ROOT}:{namespace}:{unused}") for pattern in patterns)
