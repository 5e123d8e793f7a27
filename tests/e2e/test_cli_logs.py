"""``coord logs`` and ``coord status`` show the traceback of a failed agent, through real worker processes."""

from __future__ import annotations

from coordination import Workflow
from tests.e2e.conftest import wait_finished
from tests.e2e.test_cli import coord


def test_the_traceback_of_a_failed_agent_is_shown_by_logs_and_status(pipeline_services):
    coordination_id = Workflow(
        name="fails", agents={"broken": {"task": "e2e-step", "resources": {"max_retry_attempts": 0}}}
    ).submit(input={"broken": {"fail_attempts": 1}})
    finished = wait_finished(coordination_id)
    assert finished.status == "failed" and finished.agent("broken").decision == "fail"

    shown = coord("logs", coordination_id, "--no-archive")
    assert shown.returncode == 0, shown.stderr
    assert "broken a1 TRACEBACK" in shown.stdout
    assert "Traceback (most recent call last)" in shown.stdout
    assert "RuntimeError: planned failure on attempt 1" in shown.stdout

    status = coord("status", coordination_id)
    assert "broken (attempt 1) failed:" in status.stdout
    assert 'raise RuntimeError(f"planned failure on attempt {run.attempt}")' in status.stdout

    nobody = coord("logs", coordination_id, "nobody", "--no-archive")
    assert nobody.returncode == 1 and "has no agent 'nobody'" in nobody.stderr
    unknown = coord("logs", f"{coordination_id}-nope", "--no-archive")
    assert unknown.returncode == 1 and "no coordination" in unknown.stderr.lower()
