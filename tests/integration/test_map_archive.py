"""A map agent's items in the archive: one ``agent_runs`` row per item (its attempts), expired from Redis with the rest.

Runs on PostgreSQL and SQLite (the archive contract suite's ``archive`` fixture).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from coordination.archive.engine import get_engine
from coordination.archive.tables import agent_runs
from coordination.archive.writer import archive_once, expire_archived
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import Send
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.pipeline.status import read_status
from coordination.pipeline.submission import submit
from coordination.views.status import coordination_status
from tests.integration.test_archive import Archive, archive, keys_mentioning, set_env

__all__ = ["archive"]  # the archive contract suite's fixture, used here

pytestmark = [pytest.mark.redis]

WORKFLOW = {
    "name": "map-archive",
    "agents": {
        "plan": {},
        "each": {
            "depends_on": ["plan"],
            "map": {"over": "plan.files", "max_items": 5},
            "resources": {"max_retry_attempts": 2},
        },
    },
}


def agent(run: AgentRun) -> dict[str, Any]:
    if run.agent_id == "plan":
        return {"files": ["a", "b", "c"]}
    if run.item == "b" and run.attempt == 1:
        raise RuntimeError("b fails once")
    return {"file": run.item}


def test_item_attempts_are_archived_and_the_archived_status_shows_one_map_agent_with_its_count(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COORD_RETRY_BACKOFF_BASE_SECONDS", "0.01")
    messages: list[tuple[str, str, int]] = []

    def capture(self: Dispatcher, task: str, queue: str, item: Send, task_id: str | None = None) -> None:
        messages.append((item.coordination_id, item.agent_id, item.attempt))

    monkeypatch.setattr(Dispatcher, "publish", capture)
    cid = submit(WorkflowSpec.model_validate(WORKFLOW))
    while messages:
        _cid, agent_id, attempt = messages.pop(0)
        execute_attempt(agent, cid, agent_id, attempt, task_id=f"task-{uuid.uuid4().hex[:8]}")
    live = read_status(cid)
    assert live is not None and live.status == "completed"
    assert [a.agent_id for a in live.agents] == ["plan", "each"]
    assert live.agent("each").items is not None and live.agent("each").items.summary() == "×3 (3 done)"

    assert archive_once().ok
    with get_engine().connect() as connection:
        rows = connection.execute(
            select(agent_runs.c.agent_id, agent_runs.c.status, agent_runs.c.attempts, agent_runs.c.result)
            .where(agent_runs.c.coordination_id == cid)
            .order_by(agent_runs.c.position)
        ).all()
    assert [(row.agent_id, row.status, row.attempts) for row in rows] == [
        ("plan", "completed", 1),
        ("each", "completed", 1),
        ("each.0", "completed", 1),
        ("each.1", "completed", 2),  # its retry: attempts per item
        ("each.2", "completed", 1),
    ]
    assert [entry["file"] for entry in rows[1].result] == ["a", "b", "c"]

    set_env(monkeypatch, retention_seconds="1")
    time.sleep(1.1)
    assert expire_archived() == [cid]
    assert keys_mentioning(cid) == []  # the item records expired with the rest
    archived = coordination_status(cid)
    assert archived.source == "archive"
    assert archived.model_dump(exclude={"source"}) == live.model_dump(exclude={"source"})


def test_a_map_agent_over_an_empty_list_reads_back_the_same_from_the_archive(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages: list[tuple[str, str, int]] = []
    monkeypatch.setattr(
        Dispatcher,
        "publish",
        lambda self, task, queue, item, task_id=None: messages.append((item.agent_id, item.attempt)),
    )
    cid = submit(WorkflowSpec.model_validate(WORKFLOW))
    while messages:
        agent_id, attempt = messages.pop(0)
        execute_attempt(lambda run: {"files": []}, cid, agent_id, attempt, task_id=f"task-{uuid.uuid4().hex[:8]}")
    live = read_status(cid)
    assert live is not None and live.status == "completed"
    assert live.agent("each").result == [] and live.agent("each").items is not None
    assert live.agent("each").items.count == 0

    assert archive_once().ok
    set_env(monkeypatch, retention_seconds="1")
    time.sleep(1.1)
    assert expire_archived() == [cid]
    archived = coordination_status(cid)
    assert archived.source == "archive"
    assert archived.model_dump(exclude={"source"}) == live.model_dump(exclude={"source"})
