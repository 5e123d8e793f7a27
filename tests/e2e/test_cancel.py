"""Cancelling a running coordination, through real worker and beat processes, from Python and the CLI."""

from __future__ import annotations

import time

import pytest

from coordination import Workflow, cancel_coordination, coordination_status
from coordination.errors import InvalidIdError, InvalidInputError
from coordination.pipeline.components import components
from tests.e2e.agents import runs_of
from tests.e2e.conftest import wait_finished
from tests.e2e.test_cli import coord


def _wait_running(coordination_id: str, agent_id: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while coordination_status(coordination_id).agent(agent_id).status != "running":
        assert time.monotonic() < deadline, f"{agent_id} did not start"
        time.sleep(0.05)


def _chain() -> Workflow:
    return Workflow(
        name="cancel-me",
        agents={
            "first": {"task": "e2e-step"},
            "second": {"task": "e2e-step", "depends_on": ["first"]},
            "third": {"task": "e2e-step", "depends_on": ["second"]},
        },
    )


def test_cancel_skips_what_has_not_started_and_lets_the_running_attempt_finish(pipeline_services):
    coordination_id = _chain().submit(input={"first": {"sleep": 1.0}})
    _wait_running(coordination_id, "first")

    done = cancel_coordination(coordination_id, "operator said stop")

    assert done.cancelled and done.status == "cancelled"
    assert done.skipped == ["second", "third"] and done.running == ["first"]
    status = coordination_status(coordination_id)
    assert status.status == "cancelled" and status.error == "cancelled: operator said stop"
    assert status.finished
    # The running attempt ends and is recorded; nothing starts after it.
    deadline = time.monotonic() + 20
    while coordination_status(coordination_id).agent("first").status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)  # room for a wrongly started dependent to show up
    status = coordination_status(coordination_id)
    assert status.agent("first").status == "completed"
    assert [status.agent(a).status for a in ("second", "third")] == ["cancelled", "cancelled"]
    assert runs_of(coordination_id, "second") == runs_of(coordination_id, "third") == 0
    assert status.status == "cancelled"
    finished = components().signals.get_signal_history(
        coordination_id, filters={"signal_type": "coordination_finished"}
    )
    assert len(finished) == 1 and finished[0].event_data["status"] == "cancelled"

    again = cancel_coordination(coordination_id, "twice")
    assert not again.cancelled and again.status == "cancelled"
    assert coordination_status(coordination_id).error == "cancelled: operator said stop"


def test_cancelling_a_finished_coordination_changes_nothing(pipeline_services):
    coordination_id = Workflow(name="quick", agents={"only": {"task": "e2e-step"}}).submit()
    assert wait_finished(coordination_id).status == "completed"
    done = cancel_coordination(coordination_id)
    assert (done.cancelled, done.status, done.skipped, done.running) == (False, "completed", [], [])
    assert coordination_status(coordination_id).status == "completed"


def test_bad_cancel_requests_are_refused(pipeline_services):
    with pytest.raises(InvalidIdError) as bad_id:
        cancel_coordination("no spaces allowed")
    assert bad_id.value.field == "coordination_id"
    with pytest.raises(InvalidInputError) as bad_reason:
        cancel_coordination("whatever-1", "   ")
    assert bad_reason.value.field == "reason"
    with pytest.raises(KeyError):
        cancel_coordination("never-submitted-0123")


def test_coord_cancel_reports_what_it_did(pipeline_services):
    # Long enough for the CLI process to start on a busy machine while "first" still runs.
    coordination_id = _chain().submit(input={"first": {"sleep": 5.0}})
    _wait_running(coordination_id, "first")

    ran = coord("cancel", coordination_id, "--reason", "from the CLI")
    assert ran.returncode == 0, ran.stderr
    assert f"{coordination_id} cancelled: from the CLI" in ran.stdout
    assert "cancelled before they started: second, third" in ran.stdout
    assert "still running" in ran.stdout and "first" in ran.stdout

    again = coord("cancel", coordination_id)
    assert again.returncode == 0 and "had already finished: cancelled" in again.stdout
    unknown = coord("cancel", "never-submitted-0123")
    assert unknown.returncode == 1 and "no coordination 'never-submitted-0123'" in unknown.stdout + unknown.stderr


def test_a_demo_that_gives_up_cancels_its_coordination(pipeline_services):
    import re

    ran = coord("demo", "--pace", "5", "--timeout", "2", "--own-workers", timeout=150)
    assert ran.returncode == 1, ran.stdout[-3000:] + ran.stderr[-3000:]
    submitted = re.search(r"Submitted (\S+)", ran.stdout)
    assert submitted, ran.stdout
    coordination_id = submitted.group(1)
    assert f"{coordination_id} cancelled: the demo stopped before it finished" in ran.stdout
    status = coordination_status(coordination_id)
    assert status.status == "cancelled" and status.error == "cancelled: the demo stopped before it finished"


def test_an_agent_that_checks_stops_soon_after_the_cancel_and_is_recorded_cancelled(pipeline_services):
    workflow = Workflow(
        name="patient",
        agents={"long": {"task": "e2e-patient"}, "after": {"task": "e2e-step", "depends_on": ["long"]}},
    )
    coordination_id = workflow.submit(input={"long": {"seconds": 20}})
    _wait_running(coordination_id, "long")
    cancelled_at = time.monotonic()
    assert cancel_coordination(coordination_id, "no longer needed").running == ["long"]

    deadline = cancelled_at + 10
    while coordination_status(coordination_id).agent("long").status == "running":
        assert time.monotonic() < deadline, "the agent did not stop"
        time.sleep(0.05)
    stopped_after = time.monotonic() - cancelled_at
    status = coordination_status(coordination_id)
    long = status.agent("long")
    assert long.status == "cancelled", long
    assert long.error == f"cancelled: coordination {coordination_id!r} has ended"
    assert long.attempts == 1 and runs_of(coordination_id, "long") == 1
    assert stopped_after < 5  # it stopped at its next check, not after its 20 s of work
    assert status.agent("after").status == "cancelled" and runs_of(coordination_id, "after") == 0
    assert status.status == "cancelled" and status.error == "cancelled: no longer needed"


def test_is_cancelled_is_false_while_the_coordination_runs(pipeline_services):
    coordination_id = Workflow(name="short", agents={"brief": {"task": "e2e-patient"}}).submit(
        input={"brief": {"seconds": 0.3}}
    )
    status = wait_finished(coordination_id)
    assert status.status == "completed"  # raise_if_cancelled() never fired while it ran
    assert status.agent("brief").result["summary"] == "brief worked 0.3 s"
