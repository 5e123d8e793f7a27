"""The review example through real workers: fan-out, a shared limit, a failed item, coord retry, a sign-off."""

from __future__ import annotations

import time

from coordination import Workflow, approve, coordination_status, retry_coordination
from tests.e2e.conftest import wait_finished


def _wait_for(coordination_id: str, agent_id: str, status: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while coordination_status(coordination_id).agent(agent_id).status != status:
        assert time.monotonic() < deadline, coordination_status(coordination_id)
        time.sleep(0.1)


def test_a_review_whose_file_failed_is_retried_from_where_it_broke_then_signed_off(pipeline_services):
    files = ["api.py", "models.py", "tests/test_api.py", "README.md"]
    coordination_id = Workflow.from_file("examples/review.yaml").submit(
        input={"files": files, "broken": "models.py", "pace": 0}
    )

    failed = wait_finished(coordination_id)
    assert failed.status == "failed"
    assert "models.py" in (failed.agent("review").error or "")
    assert failed.agent("split").status == "completed"

    retried = retry_coordination(coordination_id)
    assert "review" in retried.agents and "split" not in retried.agents
    _wait_for(coordination_id, "merge", "waiting")  # everything before the sign-off is done
    assert approve(coordination_id, "sign-off", by="e2e", note="looks good").approved
    done = wait_finished(coordination_id)

    assert done.status == "completed", [(a.agent_id, a.status, a.attempts, a.error) for a in done.agents]
    assert done.agent("split").attempts == 1  # kept from the first run
    review = done.agent("review")
    assert review.items is not None and review.items.count == len(files)
    assert [item["file"] for item in review.result] == files  # item order, whatever order they ran in
    assert done.agent("summary").result["files"] == files
    assert [(a.gate, a.status, a.decided_by) for a in done.approvals] == [("sign-off", "approved", "e2e")]
