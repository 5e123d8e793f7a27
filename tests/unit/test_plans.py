"""Routing decisions become plans (pure): what happens to the agent, and to the coordination."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.planning import (
    Plan,
    compute_backoff,
    parse_default_action,
    plan_after_attempt,
    plan_after_dependency,
    plan_after_timeout,
    routing_state,
)


def _plan(decision, failed=False, attempt=1, max_attempts=3, next_task=None, parallel=()):
    return plan_after_attempt(
        decision,
        failed=failed,
        attempt=attempt,
        max_attempts=max_attempts,
        next_task=next_task,
        parallel_tasks=parallel,
        backoff=lambda n: float(n),
    )


@pytest.mark.parametrize(
    ("decision", "outcome", "end"),
    [
        ("continue", "completed", None),
        ("conditional", "completed", None),
        ("end", "completed", "completed"),
        ("error", "failed", "failed"),
        ("skip", "skipped", None),
    ],
)
def test_each_decision_after_a_success(decision, outcome, end):
    plan = _plan(decision)
    assert (plan.outcome, plan.end) == (outcome, end)


def test_parallel_completes_and_starts_the_group():
    plan = _plan("parallel", parallel=("b", "c"))
    assert plan.outcome == "completed" and plan.enqueue == ("b", "c")


def test_branch_completes_and_starts_its_target():
    assert _plan("branch", next_task="fix").enqueue == ("fix",)


def test_skip_with_a_next_task_skips_that_agent_instead():
    plan = _plan("skip", next_task="later")
    assert plan.outcome == "completed" and plan.skip == ("later",)


def test_retry_waits_the_back_off_while_attempts_remain_then_fails():
    assert _plan("retry", attempt=2).retry_delay == 2.0
    exhausted = _plan("retry", attempt=3)
    assert exhausted.outcome == "failed" and exhausted.end == "failed"
    assert "retries exhausted after 3 attempt(s)" in exhausted.reason


def test_a_failure_retries_by_default_and_can_be_skipped_branched_or_ended():
    assert _plan("continue", failed=True).outcome == "retrying"
    assert _plan("skip", failed=True).outcome == "skipped"
    branched = _plan("branch", failed=True, next_task="fallback")
    assert branched.outcome == "skipped" and branched.enqueue == ("fallback",)
    assert _plan("error", failed=True).end == "failed"


def test_a_time_out_rearms_only_while_retries_remain():
    assert plan_after_timeout("retry", rearms_left=1, next_task=None).outcome == "rearmed"
    assert plan_after_timeout("retry", rearms_left=0, next_task=None).outcome == "timed_out"
    assert plan_after_timeout("skip", rearms_left=0, next_task=None).outcome == "skipped"
    assert plan_after_timeout("continue", rearms_left=0, next_task=None).end == "failed"


@pytest.mark.parametrize(
    ("declared", "outcome", "enqueue", "end"),
    [
        ("fail", None, (), "failed"),
        ("skip", "skipped", (), None),
        ("continue", "released", (), None),
        ("branch:fix", "skipped", ("fix",), None),
    ],
)
@pytest.mark.parametrize("status", ["timeout", "failed"])
def test_a_declared_default_decides_whatever_routing_says(
    status: str, declared: str, outcome: str | None, enqueue: tuple[str, ...], end: str | None
) -> None:
    for routed in ("continue", "retry", "skip", "branch", "error"):
        plan = plan_after_dependency(
            status, routed, declared=declared, rearms_left=3, next_task="other", cause="approval x rejected by b"
        )
        expected = outcome or ("timed_out" if status == "timeout" else "failed")
        assert (plan.outcome, plan.enqueue, plan.end) == (expected, enqueue, end)
        assert declared in plan.reason


def test_without_a_default_a_failed_dependency_fails_unless_routing_skips_or_branches() -> None:
    def plan(decision: str, next_task: str | None = None) -> Plan:
        return plan_after_dependency(
            "failed", decision, declared=None, rearms_left=3, next_task=next_task, cause="approval x rejected by bob"
        )

    assert (plan("continue").outcome, plan("continue").end) == ("failed", "failed")
    assert plan("continue").reason == "approval x rejected by bob"
    assert plan("retry").outcome == "failed"  # a verdict is not asked again
    assert plan("skip").outcome == "skipped"
    branched = plan("branch", "fix")
    assert (branched.outcome, branched.enqueue) == ("skipped", ("fix",))
    # A time-out without a default keeps the time-out rules: a RETRY re-arms while retries remain.
    assert plan_after_dependency("timeout", "retry", declared=None, rearms_left=1, next_task=None).outcome == "rearmed"


@pytest.mark.parametrize("text", ["", "retry", "branch", "branch:", "fail:x", "skip ", "Continue"])
def test_only_the_four_default_actions_are_understood(text: str) -> None:
    with pytest.raises(ValueError, match="fail, skip, continue, branch:<agent>"):
        parse_default_action(text)
    assert parse_default_action("branch:fix") == ("branch", "fix")
    assert parse_default_action("continue") == ("continue", None)


@given(
    st.integers(min_value=1, max_value=40),
    st.floats(min_value=0.01, max_value=5),
    st.floats(min_value=0.01, max_value=120),
)
def test_back_off_is_bounded_and_never_below_half_its_ceiling(attempt, base, maximum):
    ceiling = min(maximum, base * 2 ** (attempt - 1))
    for draw in (0.0, 0.5, 0.999999):
        delay = compute_backoff(attempt, base, maximum, rand=lambda draw=draw: draw)
        assert ceiling / 2 <= delay <= ceiling <= maximum


def test_back_off_grows_until_its_maximum():
    rng = random.Random(7)
    ceilings = [compute_backoff(n, 1.0, 8.0, rand=lambda: 1.0) for n in range(1, 7)]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert compute_backoff(3, 1.0, 8.0, rand=rng.random) >= 2.0


def test_the_routing_state_carries_the_result_and_the_pipeline_keys():
    state = routing_state({"quality_score": 0.4}, event="completed", attempt=2, completed=["a"], priority=70)
    assert state == {
        "quality_score": 0.4,
        "event": "completed",
        "attempt": 2,
        "retry_count": 1,
        "completed_tasks": ["a"],
        "task_priority": 70,
    }
    assert routing_state(None, event="failed", attempt=1, completed=[], priority=50, error="boom")["error"] == "boom"
