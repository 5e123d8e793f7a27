"""An agent's log lines and the traceback of a failed attempt are kept, shown and archived; they outlive Redis."""

from __future__ import annotations

import time
from typing import Any

import pytest

from coordination.archive.writer import archive_once, expire_archived
from coordination.pipeline.runtime import AgentRun
from coordination.pipeline.status import read_status
from coordination.views.logs import agent_logs
from tests.integration.test_archive import (  # noqa: F401  (archive: a fixture, used by name)
    archive,
    set_env,
    start_pipeline,
    work,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def talkative(run: AgentRun) -> dict[str, Any]:
    run.log.info("step %d of %d", 1, 2)
    run.log.warning("a [bold]markup-looking[/bold] line stays as written")
    if run.agent_id == "test-gen":
        raise ValueError("the tests could not be written")
    return {"summary": "done"}


def test_log_lines_and_the_traceback_are_kept_shown_and_archived(archive, monkeypatch) -> None:  # noqa: F811
    cid, messages = start_pipeline(monkeypatch)
    work(messages, talkative)

    status = read_status(cid)
    assert status is not None and status.status == "failed"
    failed = status.agent("test-gen")
    assert failed.traceback is not None
    assert "Traceback (most recent call last)" in failed.traceback
    assert "ValueError: the tests could not be written" in failed.traceback
    assert 'raise ValueError("the tests could not be written")' in failed.traceback
    live = agent_logs(cid, archive=False)
    attempts = failed.attempts  # test-gen is retried (3 retries by default), each attempt logs and fails
    assert attempts == 4
    assert [(line.agent_id, line.attempt, line.level) for line in live] == [
        ("model-gen", 1, "INFO"),
        ("model-gen", 1, "WARNING"),
        *[("test-gen", n, level) for n in range(1, attempts + 1) for level in ("INFO", "WARNING", "TRACEBACK")],
    ]
    assert live[0].message == "step 1 of 2"
    assert live[1].message == "a [bold]markup-looking[/bold] line stays as written"
    assert [line.level for line in agent_logs(cid, "model-gen", archive=False)] == ["INFO", "WARNING"]

    report = archive_once()
    assert report.ok and report.agent_logs == len(live)
    set_env(monkeypatch, retention_seconds="1")
    time.sleep(1.1)
    assert expire_archived() == [cid]
    assert read_status(cid) is None  # gone from Redis

    archived = agent_logs(cid)
    assert [(line.stream_id, line.level, line.source) for line in archived] == [
        (line.stream_id, line.level, "archive") for line in live
    ]
    assert archived[-1].message == failed.traceback
