"""A script that ran but whose reply was lost is resent by the client: the resend must be told "you won".

Each test routes this process's store connections through a relay that loses the reply of one chosen script call
(the server runs it; the client sees the connection drop, reconnects and sends it again), then checks that the
operation did what it would have done without the fault, exactly once. Without the scripts' reply guard, each of
these fails: the resend is answered "someone else did it" about its own success.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from config.settings import reload_settings
from coordination import Workflow, approve, cancel_coordination, mark_resource
from coordination.models.signals import SignalType
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import Records, Send
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.state import ThreadSafeState
from coordination.store.connection import reset_clients, sync_client
from coordination.store.scripts import script
from tests.reliability.resp_proxy import Command, ReplyDroppingProxy

pytestmark = pytest.mark.redis


def evalsha_of(name: str):  # type: ignore[no-untyped-def]
    """Match the script's EVALSHA; the script is loaded first, so the lost reply is its result, not NOSCRIPT."""
    source = script(name).source
    sync_client().script_load(source)
    sha = hashlib.sha1(source.encode("utf-8")).hexdigest().encode()
    return lambda parts: parts[0].upper() == b"EVALSHA" and parts[1] == sha


def exec_command(parts: Command) -> bool:
    return parts[0].upper() == b"EXEC"


@pytest.fixture
def proxy(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplyDroppingProxy]:
    """This process's store connections go through a reply-dropping relay; a pipeline namespace of its own."""
    relay = ReplyDroppingProxy(("127.0.0.1", 6379))
    monkeypatch.setenv("COORD_REDIS_URL", f"redis://127.0.0.1:{relay.port}/2")
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"lost-{uuid.uuid4().hex[:8]}")
    reload_settings()
    reset_clients()
    try:
        yield relay
    finally:
        relay.close()
        monkeypatch.undo()
        reload_settings()
        reset_clients()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    """The agent messages the pipeline sends (captured instead of published)."""
    messages: list[tuple[str, str, int]] = []

    def capture(self: Dispatcher, task: str, queue: str, item: Send, task_id: str | None = None) -> None:
        messages.append((item.coordination_id, item.agent_id, item.attempt))

    monkeypatch.setattr(Dispatcher, "publish", capture)
    return messages


def chain() -> Workflow:
    return Workflow(name="lost", agents={"a": {}, "b": {"depends_on": ["a"]}})


def runs(counter: dict[str, int]):  # type: ignore[no-untyped-def]
    def function(run: AgentRun) -> dict[str, Any]:
        counter[run.agent_id] = counter.get(run.agent_id, 0) + 1
        return {"summary": "done"}

    return function


def signals_of(cid: str, kind: SignalType) -> list[Any]:
    return components().signals.get_signal_history(cid, filters={"signal_type": kind.value})


def test_a_lost_submit_reply_still_returns_the_id_with_every_dependency_registered(proxy, sent) -> None:
    proxy.drop_reply(evalsha_of("pipeline_submit"))

    cid = chain().submit(check_agents=False)

    assert len(proxy.dropped) == 1  # the fault happened
    records = Records(components().keys)
    assert records.status(cid) == "running"
    assert records.agent(cid, "b")["status"] == "waiting"
    assert records.pending_counts(cid) == {"b": 1}
    assert components().resolver.list_dependencies(cid) == {"b.after.a": "pending"}
    assert sent == [(cid, "a", 1)]
    assert len(signals_of(cid, SignalType.COORDINATION_STARTED)) == 1


def test_a_lost_admission_reply_still_runs_the_attempt_once(proxy, sent) -> None:
    cid = chain().submit(check_agents=False)
    proxy.drop_reply(evalsha_of("agent_start"))
    counter: dict[str, int] = {}

    outcome = execute_attempt(runs(counter), cid, "a", 1, task_id="t-a")

    assert len(proxy.dropped) == 1
    assert outcome.status == "completed" and counter == {"a": 1}
    assert sent == [(cid, "a", 1), (cid, "b", 1)]
    assert len(signals_of(cid, SignalType.AGENT_INITIALIZED)) == 1


def test_a_lost_settlement_reply_still_announces_once_and_starts_the_dependent(proxy, sent) -> None:
    cid = chain().submit(check_agents=False)
    proxy.drop_reply(evalsha_of("agent_settle"))
    counter: dict[str, int] = {}

    outcome = execute_attempt(runs(counter), cid, "a", 1, task_id="t-a")

    assert len(proxy.dropped) == 1
    assert outcome.status == "completed", outcome
    assert sent == [(cid, "a", 1), (cid, "b", 1)]
    assert len(signals_of(cid, SignalType.AGENT_COMPLETED)) == 1
    assert Records(components().keys).agent(cid, "a")["status"] == "completed"


def test_a_lost_end_reply_still_reports_the_cancel(proxy, sent) -> None:
    cid = chain().submit(check_agents=False)
    proxy.drop_reply(evalsha_of("coordination_end"))

    done = cancel_coordination(cid, "stop")

    assert len(proxy.dropped) == 1
    assert done.cancelled and done.status == "cancelled" and done.skipped == ["a", "b"]
    assert len(signals_of(cid, SignalType.COORDINATION_FINISHED)) == 1


def test_a_lost_emission_reply_still_starts_the_agents_the_signal_unblocked(proxy, sent) -> None:
    cid = chain().submit(check_agents=False)
    proxy.drop_reply(evalsha_of("signal_emit"))

    outcome = components().signals.emit_sync(
        cid, [{"event_type": "agent_completed", "sender_agent_id": "a", "event_data": {"agent_id": "a"}}]
    )
    Dispatcher(components()).start_unblocked(outcome.settled)

    assert len(proxy.dropped) == 1
    assert [(item.ready_agent, item.queued) for item in outcome.settled] == [("b", True)]
    assert sent == [(cid, "a", 1), (cid, "b", 1)]
    assert len(signals_of(cid, SignalType.AGENT_COMPLETED)) == 1


def test_a_lost_global_resource_mark_reply_still_starts_the_waiting_agent_and_writes_one_version(proxy, sent) -> None:
    resource = f"r-{uuid.uuid4().hex[:6]}"
    workflow = Workflow(
        name="lost-r",
        agents={"a": {}},
        dependencies=[
            {"id": "needs-r", "agent": "a", "type": "resource_availability", "target": resource, "scope": "global"}
        ],
    )
    cid = workflow.submit(check_agents=False)
    assert sent == []
    state = components().state
    version = state.get_version()
    proxy.drop_reply(exec_command)  # the resource write and the wake-up run in one MULTI/EXEC

    settled = components().resolver.mark_resource_available_sync(resource)
    Dispatcher(components()).start_unblocked(settled)

    assert len(proxy.dropped) == 1
    assert sent == [(cid, "a", 1)]
    assert state.get_version() == version + 1
    assert len(state.get_history(f"resource_{resource}_available")) == 1


def test_a_lost_reply_of_a_coordinations_own_resource_mark_still_starts_its_waiting_agent(proxy, sent) -> None:
    workflow = Workflow(
        name="lost-r",
        agents={"a": {}},
        dependencies=[{"id": "needs-r", "agent": "a", "type": "resource_availability", "target": "store"}],
    )
    cid = workflow.submit(check_agents=False)
    proxy.drop_reply(evalsha_of("condition_set"))

    change = mark_resource("store", coordination_id=cid)

    assert len(proxy.dropped) == 1
    assert change.started == ["a"] and sent == [(cid, "a", 1)]
    assert components().resolver.list_dependencies(cid) == {"needs-r": "resolved"}


def approval_workflow(**extra: Any) -> Workflow:
    return Workflow(
        name="lost-v",
        agents={"a": {}},
        dependencies=[{"id": "ok", "agent": "a", "type": "approval", "target": "release", **extra}],
    )


def test_a_lost_verdict_reply_is_still_the_callers_verdict_not_already_decided(proxy, sent) -> None:
    cid = approval_workflow().submit(check_agents=False)
    proxy.drop_reply(evalsha_of("approval_verdict"))

    verdict = approve(cid, "release", by="alice")

    assert len(proxy.dropped) == 1
    assert verdict.approved and verdict.started == ["a"] and sent == [(cid, "a", 1)]
    assert len(signals_of(cid, SignalType.APPROVAL_VERDICT)) == 1


def test_a_lost_release_reply_still_starts_the_agent_a_rejection_lets_go_on(proxy, sent) -> None:
    cid = approval_workflow(on_reject="continue").submit(check_agents=False)
    proxy.drop_reply(evalsha_of("deps_release"))

    verdict = approve(cid, "release", by="bob", reject=True)

    assert len(proxy.dropped) == 1
    assert verdict.started == ["a"] and sent == [(cid, "a", 1)]
    assert Records(components().keys).agent(cid, "a")["status"] == "queued"


def test_a_lost_reply_of_a_versioned_state_write_is_not_a_version_conflict(proxy) -> None:
    state: ThreadSafeState[int] = ThreadSafeState(namespace=f"lost-state-{uuid.uuid4().hex[:8]}")
    proxy.drop_reply(evalsha_of("state_write"))

    state.set("counter", 1, expected_version=0)

    assert len(proxy.dropped) == 1
    assert state.get_version() == 1 and state.get("counter") == 1
    assert len(state.get_history()) == 1
