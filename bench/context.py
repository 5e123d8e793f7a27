"""Context figures: get_agent_context with 10 and 1,000 agents (vs a raw HGET of the same value), and
distribute_agent_context for 100 agents (vs the same writes done raw)."""

from __future__ import annotations

import random
import time
from typing import Any

from bench import baselines
from bench.harness import Figure, Target, summary
from bench.plan import Plan
from coordination import ContextDistributor, SharedIntelligence, ThreadSafeState
from coordination.store.connection import sync_client


def _assignments(count: int) -> dict[str, dict[str, Any]]:
    return {
        f"agent-{index}": {
            "objective": f"Execute task {index}",
            "tasks": ["parse_contract", "generate_models", "validate"],
            "input_data": {"contract": f"contracts/c{index}.yaml", "fields": 10},
            "dependencies": [f"agent-{index - 1}"] if index else [],
            "agent_role": "generator",
        }
        for index in range(count)
    }


_SHARED = SharedIntelligence(
    type_registry={"UserId": "str", "Email": "str", "Amount": "Decimal"},
    pattern_library={"validation": ["email_validator", "range_validator"]},
    naming_conventions={"models": "PascalCase", "fields": "snake_case"},
)


def _timed_get(distributor: ContextDistributor, cid: str, agent: str) -> float:
    started = time.perf_counter()
    context = distributor.get_agent_context(cid, agent)
    elapsed = (time.perf_counter() - started) * 1000
    if context is None:
        raise RuntimeError(f"context of {agent} in {cid} is missing")
    return elapsed


async def context_figures(namespace: str, root: str, plan: Plan) -> list[Figure]:
    """Retrieval p50 at 10 and 1,000 agents and distribution cost per agent at 100 agents."""
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    distributor = ContextDistributor(state)
    sizes = (10, 1000)
    for size in sizes:
        await distributor.distribute_agent_context(
            {"coordination_id": f"ctx-{size}", "session_id": "bench"}, _assignments(size), _SHARED
        )
    # The raw baseline reads the very same text (an agent's stored context JSON) from a plain hash.
    text = sync_client().hget(state.store_keys.coordination("ctx-10").contexts, "agent-0")
    assert isinstance(text, str)
    raw_key = f"{root}:raw:hget"
    raw_client = baselines.sync_raw_client()
    raw_client.hset(raw_key, "agent-0", text)
    samples: dict[str, list[float]] = {"raw": [], "10": [], "1000": []}
    rng = random.Random(7)
    try:
        for _ in range(plan.get_samples + plan.warmup * 10):
            # Interleaved, so the baseline and the component see the same machine conditions.
            samples["raw"].append(baselines.timed_hget(raw_client, raw_key, "agent-0"))
            for size in sizes:
                agent = f"agent-{rng.randrange(size)}"
                samples[str(size)].append(_timed_get(distributor, f"ctx-{size}", agent))
    finally:
        raw_client.close()
    skip = plan.warmup * 10
    raw_stats = summary(samples["raw"][skip:])
    figures: list[Figure] = []
    stats_by_size = {size: summary(samples[str(size)][skip:]) for size in sizes}
    for size in sizes:
        stats = stats_by_size[size]
        figures.append(
            Figure(
                key=f"context.get_agent_context.agents_{size}.p50",
                name=f"get_agent_context, p50, {size:,} agents in the coordination",
                value=stats["p50"],
                unit="ms",
                baseline=raw_stats["p50"],
                baseline_name=f"raw HGET of the same {len(text):,} B",
                target=Target("ratio_max", 2.0),
                seed_published="0.5 ms retrieval",
                stats=stats,
                baseline_stats=raw_stats,
                detail="one HGET + AgentContext.model_validate_json; sync client, same process",
            )
        )
    figures.append(
        Figure(
            key="context.get_agent_context.agents_1000_vs_10",
            name="get_agent_context p50: 1,000 vs 10 agents",
            value=stats_by_size[1000]["p50"] / stats_by_size[10]["p50"],
            unit="×",
            baseline=None,
            baseline_name="",
            target=Target("info"),
            detail="O(1) retrieval: should not grow with agents",
        )
    )

    assignments = _assignments(100)
    coordination_state = {"coordination_id": "ctx-distribute", "session_id": "bench"}
    await distributor.distribute_agent_context(coordination_state, assignments, _SHARED)
    # The raw baseline writes the very texts the distributor stored.
    texts = dict(sync_client().hgetall(state.store_keys.coordination("ctx-distribute").contexts))
    warmup = plan.warmup // 4 + 1
    component: list[float] = []
    raw: list[float] = []
    writer = baselines.async_raw_client()
    try:
        for rep in range(plan.batch_reps + warmup):
            started = time.perf_counter()
            await distributor.distribute_agent_context(coordination_state, assignments, _SHARED)
            elapsed = (time.perf_counter() - started) * 1000
            raw_elapsed = await baselines.timed_hset_batch(writer, f"{root}:raw:ctx", f"{root}:raw:ctx-order", texts)
            if rep >= warmup:  # interleaved with the raw baseline, rep by rep
                component.append(elapsed / 100)
                raw.append(raw_elapsed / 100)
    finally:
        await writer.aclose()
    stats = summary(component)
    raw_stats = summary(raw)
    figures.append(
        Figure(
            key="context.distribute_100.per_agent.p50",
            name="distribute_agent_context, 100 agents: time per agent, p50",
            value=stats["p50"],
            unit="ms",
            baseline=raw_stats["p50"],
            baseline_name="raw MULTI DEL+HSET+RPUSH of the same texts",
            target=Target("max", 0.05, unit="ms"),
            seed_published="15 ms/agent",
            stats=stats,
            baseline_stats=raw_stats,
            detail=f"build + validate + serialize 100 contexts (~{len(text):,} B each) and one MULTI/EXEC",
        )
    )
    return figures
