"""Per-key limits on one real Redis: attempts over a limit are deferred (not run, not counted), fairly, and freed.

Integration level: agent messages captured instead of published (``Dispatcher.publish``) and run in-process with
``execute_attempt``; an agent holding a slot runs another coordination's attempt from inside its function, so
"at the same time" is exact, not timed.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from config.settings import get_settings, reload_settings
from coordination import Workflow, cancel_coordination, coordination_status
from coordination.cli import app as cli
from coordination.pipeline import records as records_module
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.limit_usage import LimitUse, limit_uses
from coordination.pipeline.records import Records, Send, now_ms
from coordination.pipeline.runtime import AgentRun, AttemptOutcome, execute_attempt
from coordination.store.connection import reset_clients, sync_client
from coordination.store.keys import key_patterns
from coordination.views.prometheus import CoordinationCollector

pytestmark = pytest.mark.redis

Sent = list[Send]
#: The task id of the last message sent for each coordination (a deferred attempt is re-sent under the task id its
#: admission recorded: a test delivers that message, as the broker would).
TASK_IDS: dict[str, str] = {}


@pytest.fixture
def sent(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """A pipeline namespace of its own; the messages the pipeline sends (with their countdowns), captured."""
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"limits-{uuid.uuid4().hex[:8]}")
    reload_settings()
    reset_clients()
    messages: Sent = []

    def capture(self: Dispatcher, task: str, queue: str, item: Send, task_id: str | None = None) -> None:
        messages.append(item)
        TASK_IDS[item.coordination_id] = task_id or f"task-{uuid.uuid4().hex[:8]}"

    monkeypatch.setattr(Dispatcher, "publish", capture)
    yield messages
    monkeypatch.undo()
    reload_settings()
    reset_clients()


def _workflow(limits: list[dict[str, Any]], name: str = "limited") -> Workflow:
    return Workflow(name=name, agents={"call": {"limits": limits}})


def _attempt(cid: str, function: Callable[[AgentRun], Any], attempt: int = 1) -> AttemptOutcome:
    """Deliver the last message sent for ``cid``'s agent (its task id as sent) to ``function``."""
    task_id = TASK_IDS.get(cid) or f"task-{uuid.uuid4().hex[:8]}"
    return execute_attempt(function, cid, "call", attempt, task_id=task_id)


def _pop(sent: Sent, cid: str) -> Send:
    item = next(item for item in sent if item.coordination_id == cid)
    sent.remove(item)
    return item


def _use(key: str) -> LimitUse:
    return next(use for use in limit_uses(components().keys, now_ms()) if use.key == key)


def _record(cid: str) -> dict[str, str]:
    return Records(components().keys).agent(cid, "call")


def test_an_attempt_over_a_concurrency_limit_is_deferred_not_run_and_runs_once_the_slot_is_free(sent: Sent) -> None:
    workflow = _workflow([{"key": "llm:gpt-x", "concurrency": 1}])
    first, second = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    _pop(sent, first)
    _pop(sent, second)
    inside: list[AttemptOutcome] = []
    ran: list[str] = []

    def holder(run: AgentRun) -> dict[str, Any]:
        ran.append(run.coordination_id)
        assert _use("llm:gpt-x").running == 1
        inside.append(_attempt(second, lambda r: ran.append(r.coordination_id)))
        return {}

    assert _attempt(first, holder).status == "completed"

    deferred = inside[0]
    assert deferred.status == "deferred" and not deferred.ran
    assert "llm:gpt-x" in deferred.detail and "concurrency" in deferred.detail
    assert ran == [first]  # the second coordination's function did not run
    resent = _pop(sent, second)
    assert resent.attempt == 1 and 0 < resent.countdown <= 1  # same attempt, a short back-off
    record = _record(second)
    assert record["status"] == "queued" and record["attempt"] == "1" and record["waiting_on"] == "llm:gpt-x"
    assert coordination_status(second).agent("call").attempts == 1
    assert _use("llm:gpt-x").running == 0  # released when the holder settled
    assert _use("llm:gpt-x").waiting == 1

    assert _attempt(second, lambda r: ran.append(r.coordination_id)).status == "completed"
    assert ran == [first, second]
    assert "waiting_on" not in _record(second)
    use = _use("llm:gpt-x")
    assert (use.running, use.waiting, use.started_total, use.deferred_total) == (0, 0, 2, 1)


@pytest.mark.parametrize("same_millisecond", [False, True], ids=["apart", "same-millisecond"])
def test_the_oldest_waiter_gets_the_free_slot_first_whichever_coordination_asks(
    sent: Sent, monkeypatch: pytest.MonkeyPatch, same_millisecond: bool
) -> None:
    workflow = _workflow([{"key": "shared", "concurrency": 1}])
    holder_cid = workflow.submit(check_agents=False)
    # Named so that the newer sorts first: equal ticket times used to order the line by member name.
    older = workflow.submit(check_agents=False, coordination_id=f"z-older-{uuid.uuid4().hex[:8]}")
    newer = workflow.submit(check_agents=False, coordination_id=f"a-newer-{uuid.uuid4().hex[:8]}")
    sent.clear()

    def holder(run: AgentRun) -> dict[str, Any]:
        instant = now_ms()
        with monkeypatch.context() as clock:
            if same_millisecond:
                clock.setattr(records_module, "now_ms", lambda: instant)
            assert _attempt(older, lambda r: None).status == "deferred"
            assert _attempt(newer, lambda r: None).status == "deferred"
        return {}

    assert _attempt(holder_cid, holder).status == "completed"
    # The slot is free, but the newer waiter comes back first: it waits behind the older one.
    assert _attempt(newer, lambda r: None).status == "deferred"
    assert _attempt(older, lambda r: None).status == "completed"
    assert _attempt(newer, lambda r: None).status == "completed"


def test_a_lost_workers_slot_frees_itself_when_its_lease_ends(sent: Sent) -> None:
    workflow = _workflow([{"key": "gpu", "concurrency": 1}])
    lost, other = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    sent.clear()
    records = Records(components().keys)
    admitted = records.admit(
        lost, "call", 1, task_id="t", run="dead-worker", lease_ms=300, max_takeovers=3, with_workflow=False,
        history=100, initialized=components().signals.prepare(lost, {"event_type": "agent_initialized",
                                                                     "signal_id": f"{lost}.x"}),
    )  # fmt: skip
    assert admitted.verdict == "run"  # ... and its worker dies: nobody renews or settles it
    assert _attempt(other, lambda r: None).status == "deferred"
    time.sleep(0.4)  # the lease (300 ms) ends
    assert _attempt(other, lambda r: None).status == "completed"


def test_a_rate_limit_defers_the_attempt_until_the_oldest_start_leaves_the_window(sent: Sent) -> None:
    workflow = _workflow([{"key": "api", "rate": "2/m"}])
    cids = [workflow.submit(check_agents=False) for _ in range(3)]
    sent.clear()
    assert [_attempt(cid, lambda r: None).status for cid in cids] == ["completed", "completed", "deferred"]
    resent = _pop(sent, cids[2])
    assert resent.countdown == 30.0  # the oldest start leaves the window in a minute: looked at again within 30 s
    use = _use("api")
    assert (use.rate, use.started, use.waiting) == ("2/m", 2, 1)


def test_tokens_used_hold_back_the_next_start_until_they_drain(sent: Sent) -> None:
    workflow = _workflow([{"key": "llm", "tokens": "1000/h"}])
    first, second = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    sent.clear()

    def spend(run: AgentRun) -> None:
        run.use_tokens(1000)

    assert _attempt(first, spend).status == "completed"
    assert _use("llm").tokens_used == 1000
    outcome = _attempt(second, spend)
    assert outcome.status == "deferred" and "tokens" in outcome.detail
    assert _use("llm").tokens_total == 1000


def test_templated_keys_limit_each_tenant_on_its_own(sent: Sent) -> None:
    workflow = _workflow([{"key": "tenant:{input.tenant}", "concurrency": 1}])
    a1 = workflow.submit(input={"tenant": "acme"}, check_agents=False)
    a2 = workflow.submit(input={"tenant": "acme"}, check_agents=False)
    b1 = workflow.submit(input={"tenant": "globex"}, check_agents=False)
    sent.clear()
    outcomes: dict[str, str] = {}

    def holder(run: AgentRun) -> None:
        outcomes[a2] = _attempt(a2, lambda r: None).status
        outcomes[b1] = _attempt(b1, lambda r: None).status

    _attempt(a1, holder)
    assert outcomes == {a2: "deferred", b1: "completed"}
    assert {use.key for use in limit_uses(components().keys, now_ms())} == {"tenant:acme", "tenant:globex"}


def test_a_cancelled_coordination_gives_up_its_place_in_line(sent: Sent) -> None:
    workflow = _workflow([{"key": "slot", "concurrency": 1}])
    holder_cid, waiter = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    sent.clear()

    def holder(run: AgentRun) -> None:
        assert _attempt(waiter, lambda r: None).status == "deferred"
        assert _use("slot").waiting == 1
        cancel_coordination(waiter, "no longer needed")
        assert _use("slot").waiting == 0

    _attempt(holder_cid, holder)
    assert _record(waiter)["status"] == "cancelled"
    assert "waiting_on" not in _record(waiter)  # (a re-run of the coordination starts it afresh)
    assert not _attempt(waiter, lambda r: None).ran  # its re-sent message comes back to nothing


def test_agents_without_limits_write_no_limit_record_and_every_key_is_declared(sent: Sent) -> None:
    plain = Workflow(name="plain", agents={"call": {}}).submit(check_agents=False)
    limited = _workflow([{"key": "llm:gpt-x", "concurrency": 2, "rate": "5/s", "tokens": "100/m"}]).submit(
        check_agents=False
    )
    sent.clear()
    _attempt(plain, lambda r: None)
    _attempt(limited, lambda r: r.use_tokens(5))
    assert "limits" not in _record(plain)
    namespace = components().keys.namespace
    mentioned = [key for key in sync_client().scan_iter(match=f"{get_settings().namespace}:*") if namespace in key]
    assert any(":limit:llm:gpt-x:" in key for key in mentioned)
    patterns = key_patterns(get_settings().namespace)
    assert [key for key in mentioned if not any(pattern.fullmatch(key) for pattern in patterns)] == []


def test_coord_status_shows_a_deferred_agent_and_coord_limits_shows_each_keys_use(sent: Sent) -> None:
    workflow = _workflow([{"key": "llm:gpt-x", "concurrency": 1, "rate": "10/m", "tokens": "5000/h"}])
    holder_cid, waiter = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    sent.clear()
    shown: dict[str, Any] = {}

    def holder(run: AgentRun) -> None:
        run.use_tokens(1200)
        _attempt(waiter, lambda r: None)
        agent = coordination_status(waiter).agent("call")
        shown["status"] = (agent.status, agent.waiting_on, agent.attempts)
        shown["table"] = CliRunner().invoke(cli, ["limits"], env={"COLUMNS": "200"})
        shown["json"] = CliRunner().invoke(cli, ["limits", "--json"])
        shown["coord status"] = CliRunner().invoke(cli, ["status", waiter], env={"COLUMNS": "200"})

    _attempt(holder_cid, holder)
    assert shown["status"] == ("deferred", "llm:gpt-x", 1)
    assert "deferred on llm:gpt-x" in shown["coord status"].output, shown["coord status"].output
    table = shown["table"]
    assert table.exit_code == 0, table.output
    row = next(line for line in table.output.splitlines() if "llm:gpt-x" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "llm:gpt-x",
        "1 / 1",
        "1 / 10/m",
        "1200 / 5000/h",
        "1",
        "1",
        "1",
    ]
    (use,) = json.loads(shown["json"].output)
    assert use["key"] == "llm:gpt-x" and use["running"] == 1 and use["waiting"] == 1 and use["tokens_total"] == 1200


def test_metrics_show_each_limit_keys_use_as_coord_limits_does(sent: Sent) -> None:
    """``/metrics`` (the web view's Prometheus endpoint) has one sample per limit key and figure the key declares."""
    workflow = _workflow(
        [
            {"key": "llm:gpt-x", "concurrency": 1, "rate": "10/m", "tokens": "5000/h"},
            {"key": "tenant:acme", "rate": "5/s"},
        ]
    )
    holder_cid, waiter = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    scraped: dict[tuple[str, str], float] = {}

    def holder(run: AgentRun) -> None:
        run.use_tokens(1200)
        _attempt(waiter, lambda r: None)
        for family in CoordinationCollector().collect():
            for sample in family.samples:
                if sample.name.startswith("coord_limit_"):
                    scraped[(sample.name, sample.labels["key"])] = sample.value

    _attempt(holder_cid, holder)
    assert scraped == {
        ("coord_limit_running", "llm:gpt-x"): 1,
        ("coord_limit_concurrency", "llm:gpt-x"): 1,
        ("coord_limit_waiting", "llm:gpt-x"): 1,
        ("coord_limit_waiting", "tenant:acme"): 0,  # the waiter is held back by llm:gpt-x only
        ("coord_limit_window_starts", "llm:gpt-x"): 1,
        ("coord_limit_window_starts", "tenant:acme"): 1,
        ("coord_limit_window_tokens", "llm:gpt-x"): 1200,
        ("coord_limit_started", "llm:gpt-x"): 1,
        ("coord_limit_started", "tenant:acme"): 1,
        ("coord_limit_deferred", "llm:gpt-x"): 1,
        ("coord_limit_deferred", "tenant:acme"): 0,
        ("coord_limit_tokens", "llm:gpt-x"): 1200,
        ("coord_limit_tokens", "tenant:acme"): 1200,  # every limit key of the agent counts the tokens
    }


def test_the_limits_example_of_docs_workflows_runs(sent: Sent) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "workflows.md").read_text(encoding="utf-8")
    (block,) = [found for found in re.findall(r"```python\n(.*?)```", text, re.S) if "limits=" in found]
    scope: dict[str, Any] = {"__name__": "docs_workflows_limits"}
    exec(compile(block, "docs/workflows.md", "exec"), scope)
    record = Records(components().keys).agent(scope["cid"], "summarise")
    assert [item["key"] for item in json.loads(record["limits"])] == ["llm:gpt-x", "tenant:acme"]
    assert len(sent) == 2  # the first submission's two agents; the refused one sent nothing


def test_a_deferred_attempt_has_one_message_going_round_until_beat_resends_it(sent: Sent) -> None:
    workflow = _workflow([{"key": "one", "concurrency": 1}])
    holder_cid, waiter = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    ran: list[str] = []

    def holder(run: AgentRun) -> None:
        assert _attempt(waiter, lambda r: None).status == "deferred"

    _attempt(holder_cid, holder)
    # A second message of the deferred attempt (a duplicate, or one a dead worker held) is not the re-sent one.
    stale = execute_attempt(lambda r: ran.append("stale"), waiter, "call", 1, task_id="an-older-message")
    assert (stale.status, stale.ran) == ("duplicate", False)
    assert _attempt(waiter, lambda r: ran.append("re-sent")).status == "completed"
    assert ran == ["re-sent"]


def test_beat_resends_a_deferred_attempt_whose_message_did_not_come_back(sent: Sent) -> None:
    workflow = _workflow([{"key": "two", "concurrency": 1}])
    holder_cid, waiter = workflow.submit(check_agents=False), workflow.submit(check_agents=False)

    def holder(run: AgentRun) -> None:
        assert _attempt(waiter, lambda r: None).status == "deferred"

    _attempt(holder_cid, holder)
    due = sync_client().zscore(components().keys.agents_due, f"{waiter}/call")
    lease_ms = get_settings().lease_seconds * 1000
    assert due is not None and due <= now_ms() + 1000 + lease_ms  # its wait plus a lease, not the dispatch grace
    later = Records(components().keys, clock=lambda: int(due) + 1)
    recovered = later.recover(
        waiter, "call", requeue_ms=60_000, max_takeovers=3, lease_ms=lease_ms, run="r", grace_ms=15_000
    )
    assert recovered == ("resend", 1)
    # Beat's message (any task id) may now start it.
    assert execute_attempt(lambda r: None, waiter, "call", 1, task_id="beats-message").status == "completed"


def test_the_items_of_a_map_agent_run_under_its_limits(sent: Sent) -> None:
    workflow = Workflow(
        name="mapped",
        agents={
            "plan": {},
            "call": {
                "depends_on": ["plan"],
                "map": {"over": "plan.files", "max_items": 5},
                "limits": [{"key": "llm:items", "concurrency": 1}],
            },
        },
    )
    cid = workflow.submit(check_agents=False)
    execute_attempt(lambda r: {"files": ["a", "b"]}, cid, "plan", 1, task_id="t-plan")
    # The expansion runs no function: it takes nothing of the limit it leaves to its items.
    assert execute_attempt(lambda r: None, cid, "call", 1, task_id="t-call").status == "mapped"
    assert _use("llm:items").running == 0
    inside: list[str] = []

    def first(run: AgentRun) -> None:
        inside.append(execute_attempt(lambda r: None, cid, "call.1", 1, task_id="t-1").status)

    assert execute_attempt(first, cid, "call.0", 1, task_id="t-0").status == "completed"
    assert inside == ["deferred"]  # the second item waited for the first: one at a time
    resent = next(item for item in sent if item.agent_id == "call.1" and item.countdown > 0)
    assert execute_attempt(lambda r: None, cid, "call.1", 1, task_id=TASK_IDS[cid]).status == "completed"
    assert resent.attempt == 1
    assert coordination_status(cid).status == "completed"
