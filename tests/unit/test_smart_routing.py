"""The routing orchestrator: consolidation, history, lifetime statistics, metrics and input checks (no Redis)."""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from datetime import UTC
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordination import (
    ConditionalRouter,
    ConditionalRule,
    ParallelizationHint,
    ParallelRouter,
    PriorityRouter,
    RoutingContext,
    RoutingDecision,
    RoutingHistoryRecord,
    RoutingResult,
    RoutingStrategy,
    SmartRoutingOrchestrator,
    StateAnalysisRouter,
)
from coordination.errors import InvalidInputError
from coordination.metrics import MetricsCollector
from coordination.routing import BaseRouter
from coordination.routing.consolidation import DEFAULT_STRATEGY_WEIGHTS, consolidate
from tests.seed_collector import SeedStyleCollector as FakeCollector

SEED_KEYS = {
    "routing_id",
    "decision",
    "confidence",
    "reasoning",
    "strategy",
    "next_task",
    "metadata",
    "routing_time_ms",
    "routers_evaluated",
}
NORMAL_STATE = {"completed_tasks": [], "task_priority": 50}


class FixedRouter(BaseRouter):
    """A router that always says the same thing."""

    def __init__(self, strategy: RoutingStrategy, decision: str, confidence: float, matched: bool = True) -> None:
        super().__init__()
        self.strategy = strategy
        self.result = RoutingResult(
            decision=decision,
            confidence=confidence,
            reasoning=f"fixed {decision}",
            strategy=strategy,
            matched=matched,
        )

    def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
        return self.result


class BrokenRouter(BaseRouter):
    strategy = RoutingStrategy.PRIORITY

    def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
        raise RuntimeError("router bug")


def all_four(rules: list[ConditionalRule] | None = None, **options: Any) -> SmartRoutingOrchestrator:
    orchestrator = SmartRoutingOrchestrator(**options)
    orchestrator.add_router(
        ConditionalRouter(
            rules
            or [
                ConditionalRule(
                    rule_id="errors",
                    name="Retry on errors",
                    condition_key="error_count",
                    condition_operator=">",
                    condition_value=0,
                    decision=RoutingDecision.RETRY,
                    priority=100,
                ),
                ConditionalRule(
                    rule_id="done",
                    name="End when done",
                    condition_key="phase",
                    condition_operator="in",
                    condition_value=["done", "finished"],
                    decision=RoutingDecision.END,
                    priority=50,
                ),
            ]
        )
    )
    orchestrator.add_router(StateAnalysisRouter())
    orchestrator.add_router(
        ParallelRouter(
            [ParallelizationHint(task_group=["generate_model", "generate_validator"], dependencies=["parse_contract"])]
        )
    )
    orchestrator.add_router(PriorityRouter())
    return orchestrator


# -- decisions ----------------------------------------------------------------------------------------------


def test_without_routers_the_default_decision_is_continue() -> None:
    decision = SmartRoutingOrchestrator().route(NORMAL_STATE, "task-1")
    assert set(decision) == SEED_KEYS
    assert decision["decision"] == "continue"
    assert decision["confidence"] == 0.5
    assert decision["reasoning"] == "No routers available, using default decision"
    assert decision["strategy"] == "priority"
    assert decision["routers_evaluated"] == 0
    assert decision["routing_time_ms"] >= 0
    assert uuid.UUID(decision["routing_id"]).version == 4


def test_a_normal_state_with_all_four_routers_continues() -> None:
    decision = all_four().route(NORMAL_STATE, "task-1")
    assert decision["decision"] == "continue"
    assert decision["strategy"] == "state_analysis"  # the best-scoring default, as nothing matched
    assert decision["routers_evaluated"] == 4


def test_a_ready_parallel_group_beats_the_state_analysis_default() -> None:
    decision = all_four().route({"completed_tasks": ["parse_contract"]}, "generate_model")
    assert decision["decision"] == "parallel"
    assert decision["strategy"] == "parallel"
    assert decision["metadata"]["parallel_tasks"] == ["generate_validator"]


@pytest.mark.parametrize(("priority", "decision"), [(90, "continue"), (0, "skip"), (10, "skip")])
def test_a_high_or_low_priority_beats_the_defaults(priority: int, decision: str) -> None:
    result = all_four().route(NORMAL_STATE, "task-1", custom_data={"priority": priority})
    assert result["strategy"] == "priority"
    assert result["decision"] == decision


def test_a_matching_rule_beats_every_other_router() -> None:
    result = all_four().route({"phase": "done", "completed_tasks": ["parse_contract"]}, "generate_model")
    assert result["decision"] == "end"
    assert result["strategy"] == "conditional"
    assert result["confidence"] == 1.0


def test_errors_in_the_state_outweigh_a_parallel_opportunity() -> None:
    result = all_four().route({"failed": True, "completed_tasks": ["parse_contract"]}, "generate_model")
    assert result["decision"] == "retry"
    assert result["strategy"] == "state_analysis"


def test_ties_go_to_the_router_added_first() -> None:
    orchestrator = SmartRoutingOrchestrator()
    orchestrator.add_router(FixedRouter(RoutingStrategy.PARALLEL, "skip", 0.5))
    orchestrator.add_router(FixedRouter(RoutingStrategy.PARALLEL, "end", 0.5))
    assert orchestrator.route({}, "t")["decision"] == "skip"


def test_strategy_weights_override_the_seed_priorities() -> None:
    orchestrator = SmartRoutingOrchestrator(strategy_weights={"priority": 500})
    orchestrator.add_router(FixedRouter(RoutingStrategy.CONDITIONAL, "end", 1.0))
    orchestrator.add_router(FixedRouter(RoutingStrategy.PRIORITY, "skip", 0.5))
    assert orchestrator.strategy_priority[RoutingStrategy.PRIORITY] == 500
    assert orchestrator.strategy_priority[RoutingStrategy.CONDITIONAL] == 100
    assert orchestrator.route({}, "t")["decision"] == "skip"


@pytest.mark.parametrize("weights", [{"speed": 10}, {"priority": -1}, {"priority": "high"}, ["priority"]])
def test_bad_strategy_weights_are_refused(weights: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        SmartRoutingOrchestrator(strategy_weights=weights)
    assert caught.value.field.startswith("strategy_weights")


def test_consolidation_prefers_matched_results_then_score_then_order() -> None:
    def result(strategy: RoutingStrategy, confidence: float, matched: bool) -> RoutingResult:
        return RoutingResult(
            decision="continue", confidence=confidence, reasoning="r", strategy=strategy, matched=matched
        )

    default_high = result(RoutingStrategy.CONDITIONAL, 1.0, False)
    matched_low = result(RoutingStrategy.PRIORITY, 0.1, True)
    assert consolidate([]) is None
    assert consolidate([(0, default_high), (1, matched_low)]) == (1, matched_low)
    a, b = result(RoutingStrategy.PARALLEL, 0.5, True), result(RoutingStrategy.PARALLEL, 0.5, True)
    assert consolidate([(3, a), (2, b)]) == (2, b)
    assert consolidate([(0, default_high), (1, result(RoutingStrategy.PRIORITY, 1.0, False))])[0] == 0
    unknown = {RoutingStrategy.PARALLEL: 10.0}
    assert consolidate([(0, a), (1, result(RoutingStrategy.PRIORITY, 0.5, True))], unknown)[0] == 1
    assert DEFAULT_STRATEGY_WEIGHTS[RoutingStrategy.CONDITIONAL] == 100


# -- routers ------------------------------------------------------------------------------------------------


def test_several_routers_of_one_strategy_are_all_evaluated_and_removed_together() -> None:
    orchestrator = SmartRoutingOrchestrator()
    first = FixedRouter(RoutingStrategy.PRIORITY, "skip", 0.5)
    second = FixedRouter(RoutingStrategy.PRIORITY, "end", 0.4)
    orchestrator.add_router(first)
    orchestrator.add_router(second)
    orchestrator.add_router(StateAnalysisRouter())
    assert orchestrator.route({}, "t")["routers_evaluated"] == 3
    assert orchestrator.routers[RoutingStrategy.PRIORITY] is second
    assert orchestrator.router_list[:2] == [first, second]
    orchestrator.remove_router(RoutingStrategy.PRIORITY)
    assert [r.strategy for r in orchestrator.router_list] == [RoutingStrategy.STATE_ANALYSIS]
    orchestrator.remove_router(RoutingStrategy.PARALLEL)  # absent: nothing happens


def test_a_failing_router_is_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    orchestrator = SmartRoutingOrchestrator()
    orchestrator.add_router(BrokenRouter())
    orchestrator.add_router(StateAnalysisRouter())
    with caplog.at_level(logging.WARNING, logger="coordination.smart_routing"):
        decision = orchestrator.route({"error": "boom"}, "t")
    assert decision["decision"] == "retry"
    assert decision["routers_evaluated"] == 1
    assert "router bug" in caplog.text


def test_only_routers_can_be_added() -> None:
    with pytest.raises(InvalidInputError) as caught:
        SmartRoutingOrchestrator().add_router(object())  # type: ignore[arg-type]
    assert caught.value.field == "router"


# -- inputs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"current_task": ""}, "current_task"),
        ({"current_task": "x" * 257}, "current_task"),
        ({"current_task": 7}, "current_task"),
        ({"execution_time": -1.0}, "execution_time"),
        ({"execution_time": float("nan")}, "execution_time"),
        ({"execution_time": float("inf")}, "execution_time"),
        ({"execution_time": "1"}, "execution_time"),
        ({"execution_time": True}, "execution_time"),
        ({"execution_time": 10**400}, "execution_time"),  # too large for a float: was an OverflowError
        ({"retry_count": -1}, "retry_count"),
        ({"retry_count": 1.5}, "retry_count"),
        ({"state": ["not", "a", "dict"]}, "state"),
        ({"custom_data": [("priority", 1)]}, "custom_data"),
        ({"correlation_id": 12}, "correlation_id"),
    ],
)
def test_bad_route_arguments_are_refused_and_nothing_is_recorded(arguments: dict[str, Any], field: str) -> None:
    orchestrator = all_four(metrics_collector=(collector := FakeCollector()))
    call: dict[str, Any] = {"state": NORMAL_STATE, "current_task": "task-1", **arguments}
    with pytest.raises(InvalidInputError) as caught:
        orchestrator.route(**call)
    assert caught.value.field == field
    assert field in str(caught.value)
    assert orchestrator.get_history() == []
    assert orchestrator.get_stats()["total_routings"] == 0
    assert collector.timings == collector.counters == []


def test_a_256_character_task_and_integer_times_are_accepted() -> None:
    decision = SmartRoutingOrchestrator().route({}, "x" * 256, execution_time=5, retry_count=2)
    assert decision["decision"] == "continue"


def test_max_history_size_must_be_a_non_negative_integer() -> None:
    with pytest.raises(InvalidInputError) as caught:
        SmartRoutingOrchestrator(max_history_size=-1)
    assert caught.value.field == "max_history_size"


def test_a_state_without_a_key_builder_is_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        SmartRoutingOrchestrator(state=object())
    assert caught.value.field == "state"


# -- metrics ------------------------------------------------------------------------------------------------


def test_metrics_are_recorded_without_an_event_loop() -> None:
    collector = FakeCollector()
    orchestrator = all_four(metrics_collector=collector)
    decision = orchestrator.route(NORMAL_STATE, "task-1", correlation_id="coord-1")
    assert collector.timings == [
        (
            "routing_decision_time_ms",
            decision["routing_time_ms"],
            {"decision": "continue", "strategy": "state_analysis"},
            "coord-1",
        )
    ]
    assert collector.counters == [("routing_decisions_count", 1, {"decision": "continue"}, "coord-1")]


async def test_metrics_inside_a_running_loop_leave_no_pending_tasks() -> None:
    collector = FakeCollector()
    orchestrator = all_four(metrics_collector=collector)
    before = len(asyncio.all_tasks())
    for _ in range(50):
        orchestrator.route(NORMAL_STATE, "task-1")
    assert len(asyncio.all_tasks()) == before
    assert len(collector.timings) == len(collector.counters) == 50


def test_a_failing_collector_never_costs_the_decision() -> None:
    orchestrator = all_four(metrics_collector=FakeCollector(fail=True))
    assert orchestrator.route(NORMAL_STATE, "task-1")["decision"] == "continue"


# -- history and statistics ---------------------------------------------------------------------------------


def test_statistics_cover_the_whole_lifetime_beyond_the_retained_history() -> None:
    orchestrator = all_four(max_history_size=5)
    for index in range(12):
        state = {"failed": True} if index % 3 == 0 else NORMAL_STATE
        orchestrator.route(state, f"task-{index}")
    stats = orchestrator.get_stats()
    assert stats["total_routings"] == 12
    assert stats["history_size"] == 5
    assert stats["decisions"] == {"retry": 4, "continue": 8}
    assert stats["strategies"] == {"state_analysis": 12}
    assert 0 < stats["min_routing_time_ms"] <= stats["avg_routing_time_ms"] <= stats["max_routing_time_ms"]
    assert len(orchestrator.get_history()) == 5
    orchestrator.clear_history()
    assert orchestrator.get_history() == []
    assert orchestrator.get_stats()["total_routings"] == 12
    assert orchestrator.get_stats()["history_size"] == 0


def test_empty_statistics_are_zero() -> None:
    assert SmartRoutingOrchestrator().get_stats() == {
        "total_routings": 0,
        "avg_routing_time_ms": 0.0,
        "min_routing_time_ms": 0.0,
        "max_routing_time_ms": 0.0,
        "decisions": {},
        "strategies": {},
        "history_size": 0,
    }


def test_history_is_newest_first_filtered_then_limited() -> None:
    orchestrator = all_four()
    ids = [
        orchestrator.route(NORMAL_STATE, task, retry_count=n)["routing_id"]
        for n, task in enumerate(["a", "b", "a", "a"])
    ]
    history = orchestrator.get_history(task="a", limit=2)
    assert [str(record.routing_id) for record in history] == [ids[3], ids[2]]
    record = history[0]
    assert isinstance(record, RoutingHistoryRecord)
    assert record.timestamp.tzinfo is UTC
    assert record.context.current_task == "a"
    assert record.context.retry_count == 3
    assert record.context.state_summary == {
        "key_count": 2,
        "has_errors": False,
        "completed_tasks": [],
        "task_priority": 50,
    }
    assert record.result.strategy is RoutingStrategy.STATE_ANALYSIS
    assert record.routing_time_ms >= 0
    assert orchestrator.get_history(limit=0) == []
    assert len(orchestrator.routing_history) == 4
    with pytest.raises(InvalidInputError):
        orchestrator.get_history(limit=-1)


def test_the_summary_agrees_with_the_state_analysis_about_errors() -> None:
    orchestrator = all_four()
    orchestrator.route({"error": ""}, "t")
    orchestrator.route({"failed": True}, "t")
    newest, oldest = orchestrator.get_history()
    assert oldest.context.state_summary["has_errors"] is False
    assert oldest.result.decision is RoutingDecision.CONTINUE
    assert newest.context.state_summary["has_errors"] is True
    assert newest.result.decision is RoutingDecision.RETRY


def test_callers_cannot_change_later_decisions_through_returned_data() -> None:
    orchestrator = all_four()
    first = orchestrator.route({"phase": "done"}, "t")
    first["metadata"]["rule_id"] = "tampered"
    orchestrator.get_history()[0].result.metadata["rule_id"] = "tampered"
    assert orchestrator.route({"phase": "done"}, "t")["metadata"]["rule_id"] == "done"


def test_the_history_does_not_change_when_the_callers_state_does() -> None:
    orchestrator = SmartRoutingOrchestrator()
    state: dict[str, Any] = {"completed_tasks": ["a"]}
    orchestrator.route(state, "t", custom_data=(custom := {"priority": 1}))
    state["completed_tasks"].append("b")
    custom["priority"] = 99
    record = orchestrator.get_history()[0]
    assert record.context.state_summary["completed_tasks"] == ["a"]
    assert record.context.custom_data == {"priority": 1}


def test_routing_ids_are_unique_version_4_uuids() -> None:
    orchestrator = SmartRoutingOrchestrator()
    ids = {orchestrator.route({}, "t")["routing_id"] for _ in range(1000)}
    assert len(ids) == 1000
    assert all(uuid.UUID(value).version == 4 for value in ids)


def test_without_a_state_there_is_nothing_to_persist() -> None:
    orchestrator = SmartRoutingOrchestrator()
    orchestrator.route({}, "t")
    assert orchestrator.persist_history() == 0
    assert orchestrator.read_persisted_history() == []


def test_the_seed_guide_complex_routing_snippet_runs() -> None:
    routing_orchestrator = SmartRoutingOrchestrator(metrics_collector=None, state=None, max_history_size=1000)
    rules = [
        ConditionalRule(
            rule_id="error_handling",
            name="Retry on error",
            condition_key="error_count",
            condition_operator=">",
            condition_value=0,
            decision=RoutingDecision.RETRY,
            priority=100,
        ),
        ConditionalRule(
            rule_id="high_priority",
            name="High priority",
            condition_key="priority",
            condition_operator=">=",
            condition_value=80,
            decision=RoutingDecision.CONTINUE,
            priority=90,
        ),
    ]
    routing_orchestrator.add_router(ConditionalRouter(rules=rules))
    routing_orchestrator.add_router(StateAnalysisRouter())
    routing_orchestrator.add_router(ParallelRouter())
    routing_orchestrator.add_router(PriorityRouter())
    rules = sorted(rules, key=lambda r: r.priority, reverse=True)
    result = routing_orchestrator.route(state={"error_count": 2}, current_task="task-1")
    assert result["decision"] == "retry"
    stats = routing_orchestrator.get_stats()
    assert stats["total_routings"] == 1
    assert stats["max_routing_time_ms"] >= stats["avg_routing_time_ms"]
    if stats["total_routings"] > 10000:
        routing_orchestrator.clear_history()


# -- routers of one's own beside the built-in ones ------------------------------------------------------------


class ContextRecorder(BaseRouter):
    """Keeps the context it is given."""

    strategy = RoutingStrategy.PRIORITY

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[RoutingContext] = []

    def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
        self.contexts.append(context)
        return RoutingResult(decision="continue", confidence=0.1, reasoning="seen", strategy=self.strategy)


def test_a_router_of_ones_own_gets_the_full_context_of_the_decision() -> None:
    orchestrator = all_four()
    recorder = ContextRecorder()
    orchestrator.add_router(recorder)
    state = {"completed_tasks": ["parse_contract"], "task_priority": 70, "error": ""}
    decision = orchestrator.route(
        state, "generate_model", execution_time=12.5, retry_count=2, custom_data={"k": "v"}, correlation_id="c-1"
    )
    (context,) = recorder.contexts
    assert str(context.routing_id) == decision["routing_id"]
    assert context.current_task == "generate_model"
    assert context.state_summary == {
        "key_count": 3,
        "has_errors": False,
        "completed_tasks": ["parse_contract"],
        "task_priority": 70,
    }
    assert (context.execution_time, context.retry_count) == (12.5, 2)
    assert (context.custom_data, context.correlation_id) == ({"k": "v"}, "c-1")
    assert orchestrator.get_history()[0].context == context


def test_a_built_in_router_whose_evaluate_is_overridden_is_asked_through_it() -> None:
    class Cautious(ParallelRouter):
        def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
            return RoutingResult(
                decision="end", confidence=1.0, reasoning="stop here", strategy=self.strategy, matched=True
            )

    orchestrator = SmartRoutingOrchestrator()
    orchestrator.add_router(Cautious())
    orchestrator.add_router(StateAnalysisRouter())
    decision = orchestrator.route({}, "t")
    assert (decision["decision"], decision["reasoning"]) == ("end", "stop here")
    assert Cautious().decider() is None
    assert ParallelRouter().decider() is not None


def test_a_router_returning_something_else_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    class Sloppy(BaseRouter):
        strategy = RoutingStrategy.CONDITIONAL

        def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
            return {"decision": "end"}  # type: ignore[return-value]

    orchestrator = SmartRoutingOrchestrator()
    orchestrator.add_router(Sloppy())
    orchestrator.add_router(StateAnalysisRouter())
    with caplog.at_level(logging.WARNING, logger="coordination.smart_routing"):
        decision = orchestrator.route({}, "t")
    assert (decision["decision"], decision["strategy"], decision["routers_evaluated"]) == (
        "continue",
        "state_analysis",
        1,
    )
    assert "not a RoutingResult" in caplog.text


def test_a_result_built_without_validation_from_plain_strings_counts_as_its_members() -> None:
    # model_construct skips pydantic: decision and strategy stay the plain strings the router passed.
    class Unvalidated(BaseRouter):
        strategy = RoutingStrategy.CONDITIONAL

        def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
            return RoutingResult.model_construct(
                decision="end", confidence=0.9, reasoning="plain", strategy="conditional", matched=True
            )

    orchestrator = SmartRoutingOrchestrator()
    orchestrator.add_router(Unvalidated())
    decision = orchestrator.route({}, "t")
    assert (decision["decision"], decision["strategy"], decision["reasoning"]) == ("end", "conditional", "plain")
    assert orchestrator.get_stats()["decisions"] == {"end": 1}
    (record,) = orchestrator.get_history()
    assert record.result.decision is RoutingDecision.END  # the history holds the members


def test_a_result_built_without_validation_from_unknown_values_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    class Garbled(BaseRouter):
        strategy = RoutingStrategy.CONDITIONAL

        def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
            return RoutingResult.model_construct(
                decision="explode", confidence=0.9, reasoning="?", strategy="conditional", matched=True
            )

    class Unhashable(BaseRouter):
        strategy = RoutingStrategy.PRIORITY

        def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
            return RoutingResult.model_construct(
                decision=["end"], confidence=0.9, reasoning="?", strategy="priority", matched=True
            )

    orchestrator = SmartRoutingOrchestrator()
    orchestrator.add_router(Garbled())
    orchestrator.add_router(Unhashable())
    with caplog.at_level(logging.WARNING):
        decision = orchestrator.route({}, "t")
    assert (decision["decision"], decision["routers_evaluated"]) == ("continue", 0)  # the default decision
    assert "decision 'explode'" in caplog.text
    assert "decision ['end']" in caplog.text


def test_replacing_the_collector_records_with_the_new_one() -> None:
    # get_stats() also reads metrics other tests flushed to Redis: ours are told apart by their correlation id.
    own = f"replaced-{uuid.uuid4().hex}"
    ours, seed_style = MetricsCollector(kafka_enabled=False, postgres_enabled=False), FakeCollector()
    orchestrator = SmartRoutingOrchestrator(metrics_collector=ours)
    orchestrator.route(NORMAL_STATE, "t", correlation_id=own)
    orchestrator.metrics = seed_style  # one without record_templates_nowait: the seed's per-metric calls
    orchestrator.route(NORMAL_STATE, "t", correlation_id=own)
    orchestrator.metrics = None
    orchestrator.route(NORMAL_STATE, "t", correlation_id=own)
    assert orchestrator.metrics is None
    stats = asyncio.run(ours.get_stats())
    assert sorted(entry["name"] for entry in stats["metrics"] if entry["correlation_id"] == own) == [
        "routing_decision_time_ms",
        "routing_decisions_count",
    ]
    assert [call[0] for call in seed_style.timings] == ["routing_decision_time_ms"]
    assert [call[0] for call in seed_style.counters] == ["routing_decisions_count"]


class _FailingProxy:
    """A collector proxy (remote, connected lazily, ...) whose every attribute lookup raises."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"collector unavailable ({name})")


def test_a_collector_whose_lookups_raise_costs_no_decision() -> None:
    orchestrator = SmartRoutingOrchestrator(metrics_collector=_FailingProxy())  # type: ignore[arg-type]
    orchestrator.add_router(PriorityRouter())
    assert orchestrator.route({}, "t")["decision"] == "continue"
    orchestrator.metrics = _FailingProxy()  # type: ignore[assignment]
    assert orchestrator.route({}, "t")["decision"] == "continue"


def test_the_collector_and_its_method_may_be_patched_after_wiring() -> None:
    collector = MetricsCollector(kafka_enabled=False, postgres_enabled=False)
    orchestrator = SmartRoutingOrchestrator(metrics_collector=collector)
    with mock.patch.object(orchestrator, "metrics", None):
        orchestrator.route(NORMAL_STATE, "t")
    assert orchestrator.metrics is collector
    with mock.patch.object(MetricsCollector, "record_templates_nowait") as patched:
        orchestrator.route(NORMAL_STATE, "t")
    assert patched.call_count == 1
    assert asyncio.run(collector.get_stats())["buffer_size"] == 0  # neither decision reached the collector


def test_members_of_an_enum_of_ones_own_with_the_same_values_count() -> None:
    class Decision(enum.Enum):
        END = "end"

    class Strategy(enum.Enum):
        PRIORITY = "priority"

    class OwnEnums(BaseRouter):
        strategy = RoutingStrategy.PRIORITY

        def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
            return RoutingResult.model_construct(
                decision=Decision.END,
                confidence=0.9,
                reasoning="own",
                strategy=Strategy.PRIORITY,
                next_task="next",
                metadata={},
                matched=True,
            )

    orchestrator = SmartRoutingOrchestrator()
    orchestrator.add_router(OwnEnums())
    decision = orchestrator.route({}, "t")
    assert (decision["decision"], decision["reasoning"], decision["next_task"], decision["routers_evaluated"]) == (
        "end",
        "own",
        "next",
        1,
    )


_STRATEGIES = list(RoutingStrategy)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_STRATEGIES),
            st.sampled_from([0.0, 0.25, 0.5, 0.8, 0.9, 1.0]),
            st.booleans(),
        ),
        max_size=6,
    ),
    st.dictionaries(st.sampled_from(_STRATEGIES), st.sampled_from([0.0, 10.0, 40.0, 100.0])),
)
def test_route_picks_what_consolidate_picks(
    specs: list[tuple[RoutingStrategy, float, bool]], weights: dict[RoutingStrategy, float]
) -> None:
    routers = [FixedRouter(strategy, "end", confidence, matched) for strategy, confidence, matched in specs]
    for index, router in enumerate(routers):  # told apart by their reasoning
        router.result = router.result.model_copy(update={"reasoning": f"router {index}"})
    orchestrator = SmartRoutingOrchestrator(strategy_weights=weights)
    for router in routers:
        orchestrator.add_router(router)
    decision = orchestrator.route({}, "t")
    winner = consolidate(
        [(order, router.result) for order, router in enumerate(routers)], orchestrator.strategy_priority
    )
    picked = (decision["decision"], decision["confidence"], decision["strategy"], decision["reasoning"])
    if winner is None:
        assert picked == ("continue", 0.5, "priority", "No routers available, using default decision")
    else:
        assert picked == ("end", winner[1].confidence, winner[1].strategy.value, winner[1].reasoning)
    assert decision["routers_evaluated"] == len(routers)
