"""A run with an approval and its own gate and resource: archived, read back the same, and expired without a trace.

On both archive backends (the ``archive`` fixture of ``test_archive``): the verdict becomes an ``approvals`` row;
the status read from the archive after expiry equals the live one (approvals and scopes included); every key the
run wrote is one ``keys.py`` declares, and expiry deletes all of them (the coordination's own waiter sets too).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

from config.settings import get_settings
from coordination import Workflow, approve, coordination_status, mark_resource
from coordination.archive import tables
from coordination.archive.engine import get_engine
from coordination.archive.writer import archive_once, expire_archived
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.runtime import AgentRun
from coordination.pipeline.status import read_status
from coordination.store.connection import sync_client
from coordination.store.keys import key_patterns
from tests.conftest import SESSION_ROOT
from tests.integration.test_archive import (  # noqa: F401  (archive: a fixture, used by name)
    Archive,
    archive,
    keys_mentioning,
    set_env,
    work,
)

pytestmark = pytest.mark.redis


def scoring(run: AgentRun) -> dict[str, Any]:
    if run.agent_id == "build":
        run.set_gate("build-quality", 0.9)
    return {"summary": f"{run.agent_id} done"}


def test_an_approved_run_is_archived_read_back_the_same_and_expires_without_a_trace(
    archive: Archive,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages: list[tuple[str, str, int]] = []
    monkeypatch.setattr(
        Dispatcher,
        "publish",
        lambda self, task, queue, item, task_id=None: messages.append(
            (item.coordination_id, item.agent_id, item.attempt)
        ),
    )
    cid = Workflow(
        name="approved",
        agents={"build": {}, "release": {"depends_on": ["build"]}},
        dependencies=[
            {"id": "signed-off", "agent": "release", "type": "approval", "target": "go", "approvers": "editors"},
            {"id": "quality", "agent": "release", "type": "quality_gate", "target": "build-quality"},
            {"id": "slot", "agent": "release", "type": "resource_availability", "target": "deploy-slot"},
        ],
    ).submit(check_agents=False)
    work(messages, scoring)
    mark_resource("deploy-slot", coordination_id=cid)
    assert approve(cid, "go", by="Alice", note="ship it").started == ["release"]
    work(messages, scoring)
    live = read_status(cid)
    assert live is not None and live.status == "completed", live

    report = archive_once()

    assert report.ok and report.approvals == 1, report
    with get_engine().connect() as connection:
        row = connection.execute(select(tables.approvals).where(tables.approvals.c.coordination_id == cid)).one()
    assert (row.gate, row.verdict, row.decided_by, row.note) == ("go", "approved", "Alice", "ship it")
    namespace = components().keys.namespace
    written = [key for key in sync_client().scan_iter(match=f"{SESSION_ROOT}:*", count=1000) if namespace in key]
    patterns = key_patterns(get_settings().namespace)
    assert [key for key in written if not any(pattern.fullmatch(key) for pattern in patterns)] == []

    set_env(monkeypatch, retention_seconds="1")
    time.sleep(1.1)
    assert expire_archived() == [cid]

    assert keys_mentioning(cid) == []
    archived = coordination_status(cid)
    assert archived.source == "archive"
    assert archived.model_dump(exclude={"source"}) == live.model_dump(exclude={"source"})
    (approval,) = archived.approvals
    assert (approval.status, approval.decided_by, approval.approvers, approval.agents) == (
        "approved",
        "Alice",
        "editors",
        ["release"],
    )
    assert {d.dependency_id: d.scope for d in archived.dependencies if d.scope} == {"quality": "run", "slot": "run"}
