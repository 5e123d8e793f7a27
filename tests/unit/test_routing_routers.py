"""The four routers: the seed's semantics, and the fixes for its weaknesses (priority 0, deep size, has_errors)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coordination.errors import InvalidInputError
from coordination.models.routing import (
    ConditionalRule,
    ParallelizationHint,
    PriorityRoutingConfig,
    RoutingContext,
    RoutingDecision,
    RoutingStrategy,
    StateComplexityMetrics,
)
from coordination.routing import (
    BaseRouter,
    ConditionalRouter,
    ParallelRouter,
    PriorityRouter,
    StateAnalysisRouter,
)
from coordination.routing.analysis import estimate_size, json_size, nested_depth, state_complexity


def context(task: str = "task-1", **fields: Any) -> RoutingContext:
    return RoutingContext(current_task=task, **fields)


def rule(rule_id: str, key: str, operator: str, value: Any, decision: str, priority: int = 50, **extra: Any):
    return ConditionalRule(
        rule_id=rule_id,
        name=f"rule {rule_id}",
        condition_key=key,
        condition_operator=operator,
        condition_value=value,
        decision=decision,
        priority=priority,
        **extra,
    )


def test_base_router_is_importable_from_the_routing_package_and_abstract() -> None:
    import coordination.routing

    assert coordination.routing.BaseRouter is BaseRouter
    with pytest.raises(TypeError):
        BaseRouter()  # type: ignore[abstract]


# -- ConditionalRouter --------------------------------------------------------------------------------------


def test_rules_are_sorted_by_priority_highest_first_keeping_the_given_order_on_ties() -> None:
    router = ConditionalRouter(
        [rule("a", "x", "==", 1, "skip", 10), rule("b", "x", "==", 1, "end", 90), rule("c", "x", "==", 1, "retry", 10)]
    )
    assert [r.rule_id for r in router.rules] == ["b", "a", "c"]
    assert router.strategy is RoutingStrategy.CONDITIONAL


def test_the_first_matching_rule_by_priority_decides_with_full_confidence() -> None:
    router = ConditionalRouter(
        [
            rule("low", "error_count", ">", 0, "skip", 10),
            rule("high", "error_count", ">=", 3, "error", 90, next_task="cleanup"),
        ]
    )
    result = router.evaluate({"error_count": 5}, context())
    assert result.decision is RoutingDecision.ERROR
    assert result.confidence == 1.0
    assert result.next_task == "cleanup"
    assert result.matched is True
    assert result.reasoning == "Conditional rule 'rule high' matched: error_count >= 3"
    assert result.metadata == {"rule_id": "high", "rule_name": "rule high", "rule_priority": 90}
    assert router.evaluate({"error_count": 1}, context()).decision is RoutingDecision.SKIP


def test_no_matching_rule_continues_with_half_confidence_as_a_default() -> None:
    router = ConditionalRouter([rule("a", "x", "==", 1, "end"), rule("b", "y", "in", ["z"], "end")])
    result = router.evaluate({"x": 2}, context())
    assert result.decision is RoutingDecision.CONTINUE
    assert result.confidence == 0.5
    assert result.matched is False
    assert result.metadata == {"rules_evaluated": 2}


# -- ParallelRouter -----------------------------------------------------------------------------------------


@pytest.fixture
def parallel_router() -> ParallelRouter:
    return ParallelRouter(
        parallelization_hints=[
            ParallelizationHint(
                task_group=["generate_model", "generate_validator", "generate_tests"],
                dependencies=["parse_contract"],
                estimated_duration_ms=250.0,
            )
        ]
    )


def test_a_ready_group_is_run_in_parallel_with_its_pending_members(parallel_router: ParallelRouter) -> None:
    state = {"completed_tasks": ["parse_contract", "generate_tests"]}
    result = parallel_router.evaluate(state, context("generate_model"))
    assert result.decision is RoutingDecision.PARALLEL
    assert result.confidence == 0.9
    assert result.matched is True
    assert result.metadata == {
        "parallel_tasks": ["generate_validator"],
        "dependencies": ["parse_contract"],
        "estimated_duration_ms": 250.0,
    }
    assert result.reasoning == "Task 'generate_model' can be parallelized with ['generate_validator']"


@pytest.mark.parametrize(
    ("task", "completed"),
    [
        ("generate_model", []),  # dependency not complete
        ("generate_model", ["parse_contract", "generate_validator", "generate_tests"]),  # nobody left to join
        ("package", ["parse_contract"]),  # task in no group
    ],
)
def test_without_an_opportunity_the_parallel_router_continues_as_a_default(
    parallel_router: ParallelRouter, task: str, completed: list[str]
) -> None:
    result = parallel_router.evaluate({"completed_tasks": completed}, context(task))
    assert result.decision is RoutingDecision.CONTINUE
    assert result.confidence == 0.7
    assert result.matched is False
    assert result.metadata == {"hints_checked": 1}


def test_a_long_completed_list_is_handled_like_a_short_one(parallel_router: ParallelRouter) -> None:
    completed = [f"other-{i}" for i in range(50)] + ["parse_contract"]
    result = parallel_router.evaluate({"completed_tasks": completed}, context("generate_model"))
    assert result.metadata["parallel_tasks"] == ["generate_validator", "generate_tests"]


def test_completed_tasks_that_are_not_a_list_are_refused(parallel_router: ParallelRouter) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parallel_router.evaluate({"completed_tasks": "parse_contract"}, context("generate_model"))
    assert caught.value.field == "state.completed_tasks"


def test_a_parallel_router_without_hints_never_parallelizes() -> None:
    router = ParallelRouter()
    assert router.hints == []
    assert router.evaluate({}, context()).metadata == {"hints_checked": 0}


# -- StateAnalysisRouter ------------------------------------------------------------------------------------


def test_the_seed_complexity_example_uses_the_deep_json_size() -> None:
    state = {"completed_tasks": [], "task_priority": 50}
    metrics = state_complexity(state)
    assert isinstance(metrics, StateComplexityMetrics)
    assert metrics.key_count == 2
    assert metrics.nested_depth == 1
    # The seed reported sys.getsizeof(dict) == 184; the deep size is the compact JSON length.
    assert metrics.total_size_bytes == len(json.dumps(state, separators=(",", ":"))) == 41
    assert metrics.complexity_score == pytest.approx(2 / 100 * 0.4 + 1 / 10 * 0.3 + 41 / 1e6 * 0.3)
    assert metrics.complexity_score == pytest.approx(0.0380123)
    result = StateAnalysisRouter().evaluate(state, context())
    assert result.decision is RoutingDecision.CONTINUE
    assert result.confidence == 0.9
    assert result.matched is False
    assert result.reasoning == "State complexity (0.04) within normal range"
    assert result.metadata["complexity_metrics"] == metrics.model_dump()


def test_large_values_now_count_towards_complexity() -> None:
    state = {"payload": "x" * 5_000_000}
    metrics = state_complexity(state)
    assert metrics.total_size_bytes == 5_000_000 + len('{"payload":""}')
    assert metrics.complexity_score == 1.0
    result = StateAnalysisRouter().evaluate(state, context())
    assert result.decision is RoutingDecision.BRANCH
    assert result.confidence == 0.85
    assert result.matched is True
    assert result.reasoning == "State complexity (1.00) exceeds threshold (0.80), branching to handle complexity"


def test_the_size_is_counted_in_utf8_bytes() -> None:
    assert json_size({"k": "é"}) == len('{"k":"é"}'.encode())


def test_states_with_non_string_keys_or_deep_nesting_are_estimated() -> None:
    keyed = {1: "a", "b": [1, 2]}  # JSON writes the key as "1" (or, if the encoder refuses it, it is estimated)
    assert state_complexity(keyed).total_size_bytes == len(json.dumps(keyed, separators=(",", ":"))) == 19
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(400):  # deeper than JSON encoders accept, or at least than a state should be
        inner["d"] = {}
        inner = inner["d"]
    inner["leaf"] = 1
    metrics = state_complexity(deep)
    assert metrics.nested_depth >= 200
    assert metrics.total_size_bytes > 0
    assert metrics.complexity_score == 1.0  # the depth alone saturates the score


@pytest.mark.parametrize(
    ("state", "depth"),
    [
        ({}, 0),
        ({"a": 1}, 1),
        ({"a": {}}, 1),
        ({"a": {"b": 1}}, 2),
        ({"a": {"b": {"c": 1}}, "d": 1}, 3),
        ({"a": [{"b": {"c": 1}}]}, 1),
    ],
)
def test_nesting_depth_follows_the_seed(state: dict[str, Any], depth: int) -> None:
    assert nested_depth(state) == depth
    assert state_complexity(state).nested_depth == depth


def test_states_json_cannot_encode_are_estimated_and_cycles_do_not_hang() -> None:
    looped: dict[str, Any] = {"a": {"b": 1}}
    looped["a"]["self"] = looped
    metrics = state_complexity(looped)
    assert metrics.nested_depth == 2
    assert metrics.total_size_bytes > 0
    odd = {"when": object(), "tags": {"x", "y"}}
    assert state_complexity(odd).total_size_bytes == estimate_size(odd) > 0


@pytest.mark.parametrize("key", ["error", "errors", "error_count", "failed"])
def test_a_truthy_error_key_asks_for_the_error_decision(key: str) -> None:
    router = StateAnalysisRouter(error_handling_decision=RoutingDecision.ERROR)
    result = router.evaluate({key: 2}, context(retry_count=3))
    assert result.decision is RoutingDecision.ERROR
    assert result.confidence == 0.95
    assert result.metadata["retry_count"] == 3
    assert result.metadata["complexity_metrics"]["has_errors"] is True
    assert router.error_decision is RoutingDecision.ERROR


@pytest.mark.parametrize("state", [{"error": ""}, {"errors": []}, {"error_count": 0}, {"failed": False}])
def test_a_present_but_falsy_error_key_is_not_an_error(state: dict[str, Any]) -> None:
    assert StateAnalysisRouter().evaluate(state, context()).decision is RoutingDecision.CONTINUE


@pytest.mark.parametrize("state", [{"required_data": None}, {"mandatory_fields": []}])
def test_missing_required_data_skips_the_task(state: dict[str, Any]) -> None:
    result = StateAnalysisRouter().evaluate(state, context())
    assert result.decision is RoutingDecision.SKIP
    assert result.confidence == 0.8
    assert result.reasoning == "State has incomplete data, skipping task"


def test_complexity_above_the_threshold_branches() -> None:
    state = {f"k{i}": i for i in range(30)}  # 30 keys → 0.12 + depth 0.03
    assert StateAnalysisRouter(max_complexity_score=0.1).evaluate(state, context()).decision is RoutingDecision.BRANCH
    assert StateAnalysisRouter().evaluate(state, context()).decision is RoutingDecision.CONTINUE


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"max_complexity_score": 1.5}, "max_complexity_score"),
        ({"max_complexity_score": "high"}, "max_complexity_score"),
        ({"error_handling_decision": "explode"}, "error_handling_decision"),
    ],
)
def test_state_analysis_arguments_are_checked(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        StateAnalysisRouter(**arguments)
    assert caught.value.field == field


# -- PriorityRouter -----------------------------------------------------------------------------------------


def test_priority_zero_in_custom_data_is_honoured() -> None:
    result = PriorityRouter().evaluate({"task_priority": 95}, context(custom_data={"priority": 0}))
    assert result.decision is RoutingDecision.SKIP
    assert result.confidence == 0.85
    assert result.metadata == {"priority": 0, "high_threshold": 80, "low_threshold": 20}
    assert result.reasoning == "Low-priority task (priority=0)"
    assert result.matched is True


def test_a_missing_or_none_custom_priority_falls_back_to_the_state() -> None:
    router = PriorityRouter()
    assert router.evaluate({"task_priority": 90}, context()).decision is RoutingDecision.CONTINUE
    assert router.evaluate({"task_priority": 90}, context()).confidence == 0.95
    result = router.evaluate({"task_priority": 10}, context(custom_data={"priority": None}))
    assert result.decision is RoutingDecision.SKIP


def test_without_any_priority_the_medium_default_is_used_and_says_nothing() -> None:
    result = PriorityRouter().evaluate({}, context())
    assert result.decision is RoutingDecision.CONTINUE
    assert result.confidence == 0.8
    assert result.metadata["priority"] == 50
    assert result.reasoning == "Medium-priority task (priority=50)"
    assert result.matched is False


@pytest.mark.parametrize(
    ("priority", "decision", "confidence"),
    [
        (80, RoutingDecision.END, 0.95),
        (79, RoutingDecision.BRANCH, 0.8),
        (21, RoutingDecision.BRANCH, 0.8),
        (20, RoutingDecision.SKIP, 0.85),
        (99.5, RoutingDecision.END, 0.95),
    ],
)
def test_thresholds_are_inclusive_and_decisions_come_from_the_config(
    priority: float, decision: RoutingDecision, confidence: float
) -> None:
    config = PriorityRoutingConfig(high_priority_decision="end", default_decision="branch")
    result = PriorityRouter(config=config).evaluate({}, context(custom_data={"priority": priority}))
    assert (result.decision, result.confidence) == (decision, confidence)


def test_changing_the_config_after_construction_takes_effect() -> None:
    router = PriorityRouter()
    assert router.evaluate({"task_priority": 70}, context()).decision is RoutingDecision.CONTINUE
    router.config.high_priority_threshold = 60
    router.config.high_priority_decision = RoutingDecision.END
    assert router.evaluate({"task_priority": 70}, context()).decision is RoutingDecision.END


@pytest.mark.parametrize("priority", ["high", True, [1], float("nan")])
def test_a_priority_that_is_not_a_number_is_refused(priority: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        PriorityRouter().evaluate({}, context(custom_data={"priority": priority}))
    assert caught.value.field == "custom_data.priority"
    with pytest.raises(InvalidInputError) as caught:
        PriorityRouter().evaluate({"task_priority": priority}, context())
    assert caught.value.field == "state.task_priority"


def test_priority_config_thresholds_are_bounded() -> None:
    with pytest.raises(ValueError, match="high_priority_threshold"):
        PriorityRoutingConfig(high_priority_threshold=120)
