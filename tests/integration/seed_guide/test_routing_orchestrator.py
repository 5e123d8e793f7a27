"""The seed guide's section "2. Routing Orchestrator Tuning": its examples, verbatim, do what they say."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from coordination import (
    ConditionalRouter,
    InvalidInputError,
    PriorityRouter,
    RoutingDecision,
)
from tests.integration.seed_guide.guide import (
    fill,
    halves,
    python_blocks,
    rule,
    run_example,
    seed_scope,
    stored_metrics,
)

SECTION = "2. Routing Orchestrator Tuning"

# -- the section's examples, verbatim (a comment gives each one's place in the section) --------------------

# 2. Routing Orchestrator Tuning › Configuration Parameters
ROUTING_CONFIGURATION = """\
routing_orchestrator = SmartRoutingOrchestrator(
    metrics_collector=metrics,
    state=state,
    max_history_size=1000  # Tune based on tracking needs
)
"""


# 2. Routing Orchestrator Tuning › Tuning Recommendations › For High Throughput (>1000 routings/minute)
ROUTING_HIGH_THROUGHPUT = """\
# Minimize routers
routing_orchestrator.add_router(ConditionalRouter(rules=[...]))  # Only essential routers
# Don't add: StateAnalysisRouter, ParallelRouter if not needed

# Reduce history size
routing_orchestrator = SmartRoutingOrchestrator(
    metrics_collector=None,  # Disable metrics
    max_history_size=100  # Minimal history
)

# Periodically clear history
if routing_count > 10000:
    routing_orchestrator.clear_history()
"""


# 2. Routing Orchestrator Tuning › Tuning Recommendations › For Complex Routing Logic
ROUTING_COMPLEX_LOGIC = """\
# Add all routers but tune priorities
routing_orchestrator.add_router(ConditionalRouter(rules=[...]))  # Priority: 100
routing_orchestrator.add_router(StateAnalysisRouter())  # Priority: 80
routing_orchestrator.add_router(ParallelRouter())  # Priority: 60
routing_orchestrator.add_router(PriorityRouter())  # Priority: 40

# Sort rules by priority (highest first) for short-circuit evaluation
rules = sorted(rules, key=lambda r: r.priority, reverse=True)
"""


# 2. Routing Orchestrator Tuning › Performance Tips › Tip 1: Optimize conditional rules
ROUTING_TIP_RULES = """\
# ❌ BAD: Too many rules
rules = [
    ConditionalRule(...) for i in range(100)  # 100 rules!
]

# ✅ GOOD: Consolidate rules
rules = [
    ConditionalRule(
        rule_id="error_handling",
        condition_key="error_count",
        condition_operator=">",
        condition_value=0,
        priority=100
    ),
    ConditionalRule(
        rule_id="high_priority",
        condition_key="priority",
        condition_operator=">=",
        condition_value=80,
        priority=90
    )
]  # Only essential rules
"""


# 2. Routing Orchestrator Tuning › Performance Tips › Tip 2: Cache routing decisions for identical states
ROUTING_TIP_CACHE = '''\
from functools import lru_cache

@lru_cache(maxsize=1000)
def cached_route(state_hash: str, current_task: str) -> dict:
    """Cache routing decisions for identical states."""
    state = deserialize_state(state_hash)
    return routing_orchestrator.route(state=state, current_task=current_task)

# Usage
state_hash = hash_state(state)  # Create hash of state
result = cached_route(state_hash, current_task)
'''


EXAMPLES = [
    ROUTING_CONFIGURATION,
    ROUTING_HIGH_THROUGHPUT,
    ROUTING_COMPLEX_LOGIC,
    ROUTING_TIP_RULES,
    ROUTING_TIP_CACHE,
]


def test_the_examples_are_the_sections_own_verbatim(guide: str) -> None:
    assert python_blocks(guide, SECTION) == EXAMPLES


# -- what each example does --------------------------------------------------------------------------------


async def test_routing_configuration_routes_and_records_decision_metrics(namespace: str) -> None:
    scope = await run_example(ROUTING_CONFIGURATION, seed_scope(namespace))
    orchestrator, cid = scope["routing_orchestrator"], scope["coordination_id"]

    decision = orchestrator.route(state={"completed_tasks": []}, current_task="generate", correlation_id=cid)

    assert decision["decision"] == "continue"
    assert orchestrator.get_stats()["total_routings"] == 1
    assert stored_metrics(scope["metrics"], "routing_decisions_count", cid) == [1.0]
    assert len(stored_metrics(scope["metrics"], "routing_decision_time_ms", cid)) == 1


@pytest.mark.parametrize(
    ("example", "error", "message"),
    [
        ("ROUTING_HIGH_THROUGHPUT", InvalidInputError, r"rules\[0\].*ellipsis"),
        ("ROUTING_COMPLEX_LOGIC", InvalidInputError, r"rules\[0\].*ellipsis"),
        ("ROUTING_TIP_RULES", TypeError, "positional argument"),
    ],
)
async def test_a_schematic_example_run_as_written_fails_with_an_error_that_points_at_the_placeholder(
    namespace: str, example: str, error: type[Exception], message: str
) -> None:
    scope = seed_scope(namespace, routing_count=0)

    with pytest.raises(error, match=message):
        await run_example(globals()[example], scope)


async def test_high_throughput_keeps_a_short_history_and_lifetime_statistics(namespace: str) -> None:
    # Concrete form: the placeholder `[...]` becomes a list of rules.
    scope = seed_scope(namespace, routing_count=10_001, rules=[rule("error_handling", 100, RoutingDecision.RETRY)])
    configured = scope["routing_orchestrator"]

    await run_example(fill(ROUTING_HIGH_THROUGHPUT, {"rules=[...]": "rules=rules"}), scope)

    assert [type(router) for router in configured.router_list] == [ConditionalRouter]
    lean = scope["routing_orchestrator"]
    assert lean is not configured and lean.metrics is None and lean.router_list == []
    for n in range(150):
        lean.route(state={"step": n}, current_task=f"task-{n}")
    assert lean.get_stats()["total_routings"] == 150 and lean.get_stats()["history_size"] == 100
    lean.clear_history()
    assert lean.get_history() == [] and lean.get_stats()["total_routings"] == 150


async def test_complex_routing_uses_the_commented_priorities_and_every_router_can_win(namespace: str) -> None:
    rules = [
        rule("slow_task", 10, RoutingDecision.BRANCH, key="execution_ms"),
        rule("error_handling", 100, RoutingDecision.ERROR),
        rule("retries", 50, RoutingDecision.RETRY, key="retry_count"),
    ]
    # Concrete form: the placeholder `[...]` becomes the rules that the fragment's last line sorts.
    scope = seed_scope(namespace, rules=rules)
    orchestrator = scope["routing_orchestrator"]

    await run_example(fill(ROUTING_COMPLEX_LOGIC, {"rules=[...]": "rules=rules"}), scope)

    assert [rule.priority for rule in scope["rules"]] == [100, 50, 10]
    assert {strategy.value: weight for strategy, weight in orchestrator.strategy_priority.items()} == {
        "conditional": 100,
        "state_analysis": 80,
        "parallel": 60,
        "priority": 40,
    }
    assert len(orchestrator.routers) == 4
    errors = orchestrator.route(state={"error_count": 2}, current_task="generate")
    assert (errors["decision"], errors["strategy"]) == ("error", "conditional")
    # Unlike the seed, a state analysis that found nothing does not outweigh a low priority (weakness 16).
    low = orchestrator.route(state={"task_priority": 10}, current_task="generate")
    assert (low["decision"], low["strategy"]) == ("skip", "priority")


async def test_consolidated_conditional_rules_route_by_priority(namespace: str) -> None:
    # Concrete form: `ConditionalRule(...)` gets its fields, and the GOOD rules get the two fields they omit
    # (`name` and `decision` are required here as in the seed; the example fails there too).
    concrete = fill(
        ROUTING_TIP_RULES,
        {
            "ConditionalRule(...)": (
                'ConditionalRule(rule_id=f"rule_{i}", name=f"rule {i}", condition_key="step",'
                ' condition_operator="==", condition_value=i, decision="continue")'
            ),
            'rule_id="error_handling",': 'rule_id="error_handling", name="errors", decision=RoutingDecision.RETRY,',
            'rule_id="high_priority",': 'rule_id="high_priority", name="urgent", decision=RoutingDecision.END,',
        },
    )
    scope = await run_example(concrete, seed_scope(namespace))

    assert [rule.rule_id for rule in scope["rules"]] == ["error_handling", "high_priority"]
    orchestrator = scope["routing_orchestrator"]
    orchestrator.add_router(ConditionalRouter(rules=scope["rules"]))
    assert orchestrator.route(state={"error_count": 1, "priority": 95}, current_task="t")["decision"] == "retry"
    assert orchestrator.route(state={"error_count": 0, "priority": 95}, current_task="t")["decision"] == "end"


async def test_the_good_rules_as_written_name_the_fields_they_miss(namespace: str) -> None:
    _bad, good = halves(ROUTING_TIP_RULES)

    with pytest.raises(ValidationError) as raised:
        await run_example(good, seed_scope(namespace))

    assert {error["loc"][0] for error in raised.value.errors()} == {"name", "decision"}


async def test_cached_routing_decides_once_per_state_hash(namespace: str) -> None:
    routing_state = {"completed_tasks": ["parse_contract"], "task_priority": 90}
    scope = seed_scope(
        namespace,
        state=routing_state,
        current_task="generate_models",
        hash_state=lambda value: json.dumps(value, sort_keys=True),
        deserialize_state=json.loads,
    )
    orchestrator = scope["routing_orchestrator"]
    orchestrator.add_router(PriorityRouter())

    await run_example(ROUTING_TIP_CACHE, scope)
    again = scope["cached_route"](scope["state_hash"], "generate_models")

    assert scope["result"]["decision"] == "continue" and scope["result"]["metadata"]["priority"] == 90
    assert again is scope["result"]
    assert scope["cached_route"].cache_info().hits == 1
    assert orchestrator.get_stats()["total_routings"] == 1
