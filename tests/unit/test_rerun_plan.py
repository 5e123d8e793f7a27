"""Which agents a re-run runs again (planning.plan_rerun, pure)."""

from __future__ import annotations

import pytest

from coordination.errors import InvalidInputError
from coordination.planning import plan_rerun

ORDER = ["a", "b", "c", "d", "fix"]
UPSTREAM = {"a": [], "b": ["a"], "c": ["b"], "d": ["a"], "fix": []}
BRANCH = {"fix"}


def plan(statuses: dict[str, str], status: str = "failed", from_agent: str | None = None, done: set[str] | None = None):  # type: ignore[no-untyped-def]
    finished = done if done is not None else {a for a, s in statuses.items() if s == "completed"}
    return plan_rerun(ORDER, UPSTREAM, statuses, status, BRANCH, finished, from_agent)


def test_without_from_it_starts_at_what_did_not_complete_and_takes_everything_downstream() -> None:
    rerun = plan({"a": "completed", "b": "failed", "c": "skipped", "d": "completed", "fix": "dormant"})
    assert (rerun.agents, rerun.roots, rerun.dormant, rerun.failures) == (["b", "c"], ["b", "c"], [], 0)


def test_from_an_agent_takes_it_and_its_downstream_only() -> None:
    statuses = {"a": "completed", "b": "completed", "c": "completed", "d": "failed", "fix": "dormant"}
    rerun = plan(statuses, "failed", from_agent="b")
    assert rerun.agents == ["b", "c"] and rerun.roots == ["b"]
    assert rerun.failures == 1  # d stays failed: the re-run still ends failed


def test_a_branch_target_downstream_of_a_root_waits_for_its_branch_again() -> None:
    upstream = {**UPSTREAM, "fix": ["b"]}
    statuses = {"a": "completed", "b": "completed", "c": "completed", "d": "completed", "fix": "completed"}
    rerun = plan_rerun(ORDER, upstream, statuses, "completed", BRANCH, set(statuses), "b")
    assert rerun.agents == ["b", "c", "fix"] and rerun.dormant == ["fix"]


@pytest.mark.parametrize("status", ["running", "lost"])
def test_a_coordination_that_is_not_finished_here_is_refused_naming_its_status(status: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        plan({"a": "running"}, status)
    assert refused.value.field == "coordination_id" and f"is {status}" in refused.value.problem


def test_a_completed_run_without_from_has_nothing_to_retry() -> None:
    with pytest.raises(InvalidInputError, match="nothing to retry"):
        plan(dict.fromkeys(ORDER, "completed"), "completed")


def test_an_unknown_from_agent_is_named() -> None:
    with pytest.raises(InvalidInputError) as refused:
        plan(dict.fromkeys(ORDER, "completed"), "completed", from_agent="zed")
    assert refused.value.field == "from_agent" and "zed" in refused.value.problem


def test_from_an_agent_whose_upstream_did_not_complete_is_refused() -> None:
    statuses = {"a": "failed", "b": "skipped", "c": "skipped", "d": "skipped", "fix": "dormant"}
    with pytest.raises(InvalidInputError) as refused:
        plan(statuses, "failed", from_agent="b")
    assert refused.value.field == "from_agent" and "'a'" in refused.value.problem
