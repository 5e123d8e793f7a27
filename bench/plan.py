"""Iteration counts of a full run and of a ``--quick`` smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """How many samples each figure takes."""

    latency_samples: int  # cross-process one-way latencies per figure
    warmup: int  # discarded first samples (connections, listener subscription, caches)
    batch_reps: int  # emit_many(100) / distribute(100 agents) repetitions
    route_calls: int  # route() calls per repetition
    route_reps: int  # repetitions of the route() loop (the median is kept)
    get_samples: int  # get_agent_context calls per agent count
    memory_signals: int  # signals emitted into one coordination for the memory figures
    memory_cap: int  # its max_history_size


# Pause between two cross-process events, for the raw baselines and the components alike: each sample then
# measures one event reaching a receiver that is parked in its blocking read, not one that is still busy with the
# previous event (back-to-back events would measure the receiver's throughput instead).
PACE_S = 0.002

FULL = Plan(
    latency_samples=400,
    warmup=20,
    batch_reps=60,
    route_calls=10_000,
    route_reps=5,
    get_samples=3000,
    memory_signals=100_000,
    memory_cap=10_000,
)
QUICK = Plan(
    latency_samples=60,
    warmup=10,
    batch_reps=12,
    route_calls=3000,
    route_reps=3,
    get_samples=400,
    memory_signals=20_000,
    memory_cap=2_000,
)
