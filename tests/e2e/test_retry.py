"""Re-running a finished coordination (``coord retry``) through real worker and beat processes."""

from __future__ import annotations

import time

from coordination import Workflow, cancel_coordination, coordination_status, retry_coordination
from coordination.pipeline.components import components
from tests.e2e.agents import runs_of
from tests.e2e.conftest import wait_finished
from tests.e2e.test_cli import coord


def _flaky_chain() -> Workflow:
    return Workflow(
        name="retry-me",
        agents={
            "fetch": {"task": "e2e-step"},
            "write": {"task": "e2e-flaky", "depends_on": ["fetch"], "resources": {"max_retry_attempts": 0}},
            "publish": {"task": "e2e-step", "depends_on": ["write"]},
        },
    )


def test_coord_retry_runs_a_failed_coordination_again_from_its_failed_agent(pipeline_services):
    coordination_id = _flaky_chain().submit()
    first = wait_finished(coordination_id)
    assert first.status == "failed"
    assert [first.agent(a).status for a in ("fetch", "write", "publish")] == ["completed", "failed", "skipped"]

    done = coord("retry", coordination_id)

    assert done.returncode == 0, done.stderr
    assert "run 2" in done.stdout and "write, publish" in done.stdout
    second = wait_finished(coordination_id)
    assert second.status == "completed", second
    # The upstream agent kept its result and did not run again; the failed one ran again as attempt 2.
    assert runs_of(coordination_id, "fetch") == 1
    assert runs_of(coordination_id, "write") == 2 and runs_of(coordination_id, "publish") == 1
    assert (second.agent("fetch").attempts, second.agent("write").attempts) == (1, 2)
    finished = components().signals.get_signal_history(
        coordination_id, filters={"signal_type": "coordination_finished"}
    )
    in_order = sorted(finished, key=lambda signal: tuple(int(part) for part in str(signal.stream_id).split("-")))
    assert [signal.event_data["status"] for signal in in_order] == ["failed", "completed"]
    # coord watch replays both runs and stops at the end of the last one, with its exit status.
    watched = coord("watch", coordination_id)
    assert watched.returncode == 0, watched.stderr
    assert watched.stdout.count("coordination_finished") == 2
    history = coord("history", coordination_id, "--no-archive")
    assert history.returncode == 0, history.stderr
    assert history.stdout.count("coordination_finished") == 2 and "write attempt 1" in history.stdout
    shown = coord("status", coordination_id)
    assert f"{coordination_id} (retry-me, run 2): completed" in shown.stdout

    again = coord("retry", coordination_id)
    assert again.returncode == 2 and "nothing to retry" in again.stderr


def test_retry_from_an_agent_reruns_it_and_downstream(pipeline_services):
    coordination_id = Workflow(
        name="again",
        agents={
            "first": {"task": "e2e-step"},
            "second": {"task": "e2e-step", "depends_on": ["first"]},
            "third": {"task": "e2e-step", "depends_on": ["second"]},
        },
    ).submit()
    assert wait_finished(coordination_id).status == "completed"

    retried = retry_coordination(coordination_id, from_agent="second")

    assert retried.agents == ["second", "third"]
    status = wait_finished(coordination_id)
    assert status.status == "completed"
    assert [runs_of(coordination_id, a) for a in ("first", "second", "third")] == [1, 2, 2]
    assert coordination_status(coordination_id).agent("second").attempts == 2


def test_a_running_coordination_is_refused_then_retried_once_cancelled(pipeline_services):
    coordination_id = Workflow(name="long", agents={"slow": {"task": "e2e-patient"}}).submit(
        input={"slow": {"seconds": 60}}
    )
    refused = coord("retry", coordination_id)
    assert refused.returncode == 2 and "is running" in refused.stderr
    cancel_coordination(coordination_id, "too slow")
    cancelled = wait_finished(coordination_id)
    assert cancelled.status == "cancelled"
    deadline = time.monotonic() + 20  # the running attempt stops at its next raise_if_cancelled()
    while coordination_status(coordination_id).agent("slow").status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    done = coord("retry", coordination_id)

    assert done.returncode == 0, done.stderr
    assert runs_of(coordination_id, "slow") >= 1
    deadline = time.monotonic() + 20
    while runs_of(coordination_id, "slow") < 2:  # the re-run started the agent again
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cancel_coordination(coordination_id, "enough")
