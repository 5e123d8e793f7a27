"""Progress and streamed text of a running attempt: on the record and the signal stream, bounded, not archived.

Integration level: real Redis, agent messages captured instead of published and run with ``execute_attempt``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from coordination import Workflow, coordination_status
from coordination.models.signals import SignalType
from coordination.pipeline import progress as progress_module
from coordination.pipeline.components import components
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.store.connection import sync_client
from tests.integration import test_archive, test_retry
from tests.integration.test_retry import Sent, records

pytestmark = pytest.mark.redis

archive = test_archive.archive  # the fixtures: a migrated archive; agent messages captured
sent = test_retry.sent


def events(cid: str, kind: SignalType) -> list[dict[str, str]]:
    entries = sync_client().xrange(components().keys.coordination(cid).signals)
    return [fields for _, fields in entries if fields["type"] == kind.value]


def single(**agent: Any) -> str:
    return Workflow(name="talker", agents={"writer": agent}).submit(check_agents=False)


def test_progress_and_chunks_reach_the_record_and_the_signal_stream_while_the_agent_runs(sent: Sent) -> None:
    cid = single()
    seen: dict[str, Any] = {}

    def writer(run: AgentRun) -> dict[str, Any]:
        assert run.progress(0.25, "outlining")
        for word in ("Once ", "upon ", "a time"):
            assert run.stream(word)
        assert run.progress(0.75, "polishing")
        live = coordination_status(cid).agent("writer")
        seen.update(progress=live.progress, message=live.progress_message, output=live.output)
        return {"summary": "Once upon a time"}

    assert execute_attempt(writer, cid, "writer", 1, task_id="t1").status == "completed"

    assert seen == {"progress": 0.75, "message": "polishing", "output": "Once upon a time"}
    reports = [progress_module_json(e) for e in events(cid, SignalType.AGENT_PROGRESS)]
    assert [(r["fraction"], r["message"]) for r in reports] == [(0.25, "outlining"), (0.75, "polishing")]
    assert [progress_module_json(e)["text"] for e in events(cid, SignalType.AGENT_STREAM)] == [
        "Once ",
        "upon ",
        "a time",
    ]


def progress_module_json(fields: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(fields["data"]))


def test_a_chatty_agent_is_bounded_per_attempt(sent: Sent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "MAX_PROGRESS_EVENTS", 5)
    cid = single(resources={"max_retry_attempts": 1})
    chunk = "é" * 999 + "\n"  # 2,000 bytes of UTF-8: the kept tail must not start inside a character

    def chatty(run: AgentRun) -> dict[str, Any]:
        for _ in range(12):
            assert run.stream(chunk)  # recorded even past the cap
        if run.attempt == 1:
            raise RuntimeError("again")
        return {}

    assert execute_attempt(chatty, cid, "writer", 1, task_id="t1").status == "retrying"
    assert len(events(cid, SignalType.AGENT_STREAM)) == 5
    output = records().agent(cid, "writer")["output"]  # read as UTF-8 text: it decodes
    assert len(output.encode()) <= progress_module.STREAM_TAIL_BYTES and output.endswith(chunk)
    assert execute_attempt(chatty, cid, "writer", 2, task_id="t2").status == "completed"
    assert len(events(cid, SignalType.AGENT_STREAM)) == 10  # a new attempt has its own allowance


def test_a_stale_attempt_writes_nothing(sent: Sent) -> None:
    cid = single()
    kept: list[AgentRun] = []

    def keeps(run: AgentRun) -> dict[str, Any]:
        kept.append(run)
        return {}

    execute_attempt(keeps, cid, "writer", 1, task_id="t1")
    before = sync_client().xlen(components().keys.coordination(cid).signals)

    assert kept[0].progress(0.9, "too late") is False
    assert kept[0].stream("too late") is False
    assert sync_client().xlen(components().keys.coordination(cid).signals) == before
    assert "progress" not in records().agent(cid, "writer")


@pytest.mark.usefixtures("archive")
def test_progress_and_chunks_are_not_archived(sent: Sent) -> None:
    from coordination.archive.reader import archived_signals
    from coordination.archive.writer import archive_once

    cid = single()

    def writer(run: AgentRun) -> dict[str, Any]:
        run.progress(0.5)
        run.stream("some text")
        return {"summary": "some text"}

    execute_attempt(writer, cid, "writer", 1, task_id="t1")
    assert archive_once().ok

    kinds = {signal.signal_type for signal in archived_signals(cid)}
    assert SignalType.AGENT_COMPLETED in kinds
    assert not kinds & {SignalType.AGENT_PROGRESS, SignalType.AGENT_STREAM}
    assert archive_once().ok  # and the cursor went past them: nothing left to read
