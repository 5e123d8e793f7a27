"""Every state an agent can be left in by a crash has a way out: beat's poll finds it in the due sets and acts.

Each test puts a coordination into the state a dead process would leave behind (using the real scripts, with the
process's next step simply not taken), then runs beat's poll "later" (``poll(now=...)``: the scripts run at that
time) and checks the repair. Agent messages are captured instead of published.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from config.settings import get_settings, reload_settings
from coordination import Workflow
from coordination.models.signals import SignalType
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.polling import poll
from coordination.pipeline.records import Records, Send, now_ms
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.pipeline.submission import build_submission
from coordination.store.connection import reset_clients, sync_client

pytestmark = pytest.mark.redis

LEASE_MS = 10_000
GRACE_MS = 15_000


@pytest.fixture
def sent(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, int]]]:
    """A pipeline namespace of its own; the agent messages the pipeline sends, captured instead of published."""
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"way-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("COORD_MAX_REDELIVERIES", "2")
    reload_settings()
    reset_clients()
    messages: list[tuple[str, str, int]] = []

    def capture(self: Dispatcher, task: str, queue: str, item: Send, task_id: str | None = None) -> None:
        messages.append((item.coordination_id, item.agent_id, item.attempt))

    monkeypatch.setattr(Dispatcher, "publish", capture)
    yield messages
    monkeypatch.undo()
    reload_settings()
    reset_clients()


def chain(**first: Any) -> Workflow:
    return Workflow(name="way", agents={"a": first, "b": {"depends_on": ["a"]}})


def submitted_but_never_sent(workflow: Workflow) -> str:
    """What a submitter that died right after the submission script leaves behind."""
    parts = components()
    dispatcher = Dispatcher(parts)
    document = build_submission(parts, dispatcher, workflow.spec, None, None)
    assert dispatcher.records.submit(document) == [Send(document["cid"], "a", 1, 0.0)]
    return str(document["cid"])


def admitted(cid: str, agent: str, attempt: int = 1, run: str = "r1") -> str:
    """What a worker that died while running the attempt leaves behind (an admitted attempt with a lease)."""
    dispatcher = Dispatcher(components())
    admission = dispatcher.records.admit(
        cid,
        agent,
        attempt,
        task_id=f"task-{run}",
        run=run,
        lease_ms=LEASE_MS,
        max_takeovers=2,
        with_workflow=False,
        history=1000,
        initialized=dispatcher.signal_values(
            cid, SignalType.AGENT_INITIALIZED, agent, {"agent_id": agent}, f"{cid}.{agent}.a{attempt}.initialized"
        ),
    )
    assert admission.verdict == "run", admission
    return run


def done(run: AgentRun) -> dict[str, Any]:
    return {"summary": f"{run.agent_id} done"}


def records() -> Records:
    return Records(components().keys)


def due_members(cid: str) -> list[str]:
    keys = components().keys
    return [m for key in (keys.agents_due, keys.due) for m, _ in sync_client().zscan_iter(key, match=f"{cid}/*")]


def test_a_queued_attempt_whose_message_was_never_sent_is_sent_after_the_grace_and_only_once(sent) -> None:
    cid = submitted_but_never_sent(chain())
    start = now_ms()

    assert poll(now=start + 1000).resent == 0  # within the grace its sender may still send it
    assert poll(now=start + GRACE_MS + 1000).resent == 1
    assert sent == [(cid, "a", 1)]
    assert poll(now=start + GRACE_MS + 2000).resent == 0  # sent now: looked at again only much later


def test_a_running_attempt_whose_worker_died_runs_again_after_its_lease_and_completes_once(sent) -> None:
    cid = chain().submit(check_agents=False)
    zombie = admitted(cid, "a")
    start = now_ms()

    assert poll(now=start + LEASE_MS // 2).resent == 0  # the lease is alive: the attempt may be running
    assert poll(now=start + LEASE_MS + 1000).resent == 1
    assert sent == [(cid, "a", 1), (cid, "a", 1)]
    assert records().agent(cid, "a")["status"] == "queued"

    assert execute_attempt(done, cid, "a", 1, task_id="again").status == "completed"
    # The lost worker's outcome, should it ever arrive, is refused: the attempt is recorded once.
    late = Dispatcher(components()).records.settle(
        {"cid": cid, "agent": "a", "mode": "finish", "attempt": 1, "run": zombie, "outcome": "completed"}
    )
    assert not late.first
    assert sent[-1] == (cid, "b", 1)
    history = components().signals.get_signal_history(cid, filters={"signal_type": "agent_completed"})
    assert len(history) == 1


def test_a_taken_over_attempt_whose_resend_was_lost_is_due_again_after_the_configured_grace(
    sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beat re-queued a dead worker's attempt and died before sending it: it looks again after the dispatch grace.

    The grace is COORD_DISPATCH_GRACE_SECONDS, as for every other queued attempt (it was a fixed 15 s here).
    """
    monkeypatch.setenv("COORD_DISPATCH_GRACE_SECONDS", "3")
    reload_settings()
    cid = chain().submit(check_agents=False)
    admitted(cid, "a")
    later = now_ms() + LEASE_MS + 1000
    settings = get_settings()
    action = Records(components().keys, clock=lambda: later).recover(
        cid,
        "a",
        requeue_ms=settings.requeue_after_seconds * 1000,
        max_takeovers=2,
        lease_ms=LEASE_MS,
        run="beat-1",
        grace_ms=settings.dispatch_grace_seconds * 1000,
    )
    assert action == ("resend", 1)
    # Nothing was sent (beat "died"): the attempt is due again 3 s later, not 15 s.
    assert sync_client().zscore(components().keys.agents_due, f"{cid}/a") == later + 3000
    assert poll(now=later + 3000 + 1000).resent == 1
    assert sent[-1] == (cid, "a", 1)


def test_an_attempt_whose_workers_keep_dying_fails_after_the_takeover_limit_with_the_reason(sent) -> None:
    cid = chain().submit(check_agents=False)
    start = now_ms()
    admitted(cid, "a", run="r1")
    assert poll(now=start + 1 * (LEASE_MS + 1000)).resent == 1  # first expired lease: taken over
    admitted(cid, "a", run="r2")
    assert poll(now=start + 2 * (LEASE_MS + 1000)).resent == 1  # second: COORD_MAX_REDELIVERIES=2 allows it
    admitted(cid, "a", run="r3")
    report = poll(now=start + 3 * (LEASE_MS + 1000))  # third: one too many

    assert report.taken_over == 1
    record = records().agent(cid, "a")
    assert record["status"] == "failed", record
    assert "worker was lost" in record["error"]
    assert records().status(cid) == "failed"
    assert due_members(cid) == []


def test_a_retry_whose_message_was_never_sent_is_sent_after_its_back_off_and_the_grace(
    sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = chain(resources={"max_retry_attempts": 1}).submit(check_agents=False)

    def fails(run: AgentRun) -> dict[str, Any]:
        raise RuntimeError("transient")

    with monkeypatch.context() as dying:  # the worker dies between the settlement and sending the retry
        dying.setattr(Dispatcher, "send", lambda self, *args, **kwargs: [])
        outcome = execute_attempt(fails, cid, "a", 1, task_id="t1")
    assert outcome.status == "retrying"
    # The record says what happened (a retry), not what routing proposed for the failure ("continue").
    assert {k: records().agent(cid, "a")[k] for k in ("status", "decision")} == {
        "status": "retrying",
        "decision": "retry",
    }
    start = now_ms()
    backoff_ms = round((outcome.retry_in or 0) * 1000)

    assert poll(now=start + backoff_ms + GRACE_MS + 1000).resent == 1
    assert sent[-1] == (cid, "a", 2)
    assert execute_attempt(done, cid, "a", 2, task_id="t1").status == "completed"


def test_a_global_condition_written_straight_into_the_state_is_found_by_the_poll(sent) -> None:
    resource = f"r-{uuid.uuid4().hex[:6]}"
    cid = Workflow(
        name="way-r",
        agents={"a": {}},
        dependencies=[
            {"id": "needs-r", "agent": "a", "type": "resource_availability", "target": resource, "scope": "global"}
        ],
    ).submit(check_agents=False)
    components().state.set(f"resource_{resource}_available", True)  # no event: nobody is woken
    assert sent == []

    report = poll(now=now_ms() + 1000)

    assert report.resolved == 1 and sent == [(cid, "a", 1)]


def test_a_dependency_that_times_out_is_routed_and_the_coordination_ends(sent) -> None:
    cid = Workflow(
        name="way-t",
        agents={"a": {}},
        dependencies=[{"id": "gate", "agent": "a", "type": "quality_gate", "target": "never", "timeout": 1}],
    ).submit(check_agents=False)

    report = poll(now=now_ms() + 2000)

    assert report.timed_out == 1
    record = records().agent(cid, "a")
    assert record["status"] == "timed_out" and record["decision"] == "timeout"
    assert records().status(cid) == "failed"
    assert due_members(cid) == []


def test_a_running_attempt_lost_after_its_coordination_was_cancelled_is_closed(sent) -> None:
    from coordination import cancel_coordination

    cid = chain().submit(check_agents=False)
    admitted(cid, "a")
    assert cancel_coordination(cid, "stop").running == ["a"]

    poll(now=now_ms() + LEASE_MS + 1000)

    assert records().agent(cid, "a")["status"] == "cancelled"
    assert due_members(cid) == []


def test_a_coordination_beat_cannot_process_fails_alone_and_the_others_go_on(sent) -> None:
    broken = submitted_but_never_sent(chain())
    healthy = submitted_but_never_sent(chain())
    sync_client().set(components().keys.coordination(broken).workflow, "{not json")

    report = poll(now=now_ms() + GRACE_MS + 1000)

    assert report.failed == [broken]
    assert records().status(broken) == "failed"
    assert "could not process" in records().meta(broken)["error"]
    assert sent == [(healthy, "a", 1)]
    assert due_members(broken) == []


def test_a_coordination_that_ran_to_the_end_leaves_nothing_due(sent) -> None:
    cid = chain().submit(check_agents=False)
    while sent:
        coordination, agent, attempt = sent.pop(0)
        execute_attempt(done, coordination, agent, attempt, task_id=f"t-{agent}")
    assert records().status(cid) == "completed"
    assert due_members(cid) == []
