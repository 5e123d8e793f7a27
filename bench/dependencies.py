"""Dependency figure: time from just before ``mark_resource_available`` to a waiter in another process
returning from ``resolve_dependency``, with check_interval_ms 100 and 2,000."""

from __future__ import annotations

import time
from typing import Any

from bench import baselines
from bench.harness import Figure, Target, summary
from bench.peer import Peer, PeerError
from bench.plan import Plan
from coordination import DependencyResolver, SignalCoordinator, ThreadSafeState

_SEED = "< 50 ms single dependency"


async def _resolution_latency(
    peer: Peer, resolver: DependencyResolver, namespace: str, intervals: tuple[int, ...], plan: Plan
) -> dict[int, list[float]]:
    count, warmup = plan.latency_samples * len(intervals), plan.warmup * len(intervals)
    prefix = "latency"
    peer.start(
        "dependency_waiter",
        {
            "namespace": namespace,
            "cid": "dep-latency",
            "prefix": prefix,
            "n": count + warmup,
            "check_intervals": list(intervals),
        },
    )
    samples: dict[int, list[float]] = {interval: [] for interval in intervals}
    for index in range(count + warmup):
        # The child announces each parked waiter; peer.start consumed the first announcement.
        if index and peer.receive() != "ready":
            raise PeerError("dependency waiter out of step")
        t0 = time.time()
        await resolver.mark_resource_available(f"{prefix}-res-{index}")
        done = peer.receive()
        if done is None:
            raise PeerError(f"dependency {prefix}-dep-{index} did not resolve")
        if index >= warmup:
            samples[intervals[index % len(intervals)]].append((float(done) - t0) * 1000)
    return samples


async def dependency_figures(peer: Peer, namespace: str, root: str, plan: Plan) -> list[Figure]:
    """p50 resolution latency for check_interval_ms 100 and 2,000, beside a raw PUBLISH → subscriber."""
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    resolver = DependencyResolver(SignalCoordinator(state), state=state)
    raw = await baselines.publish_to_subscriber(peer, f"{root}:raw:channel", plan.latency_samples, plan.warmup)
    raw_stats = summary(raw)
    figures: list[Figure] = []
    p50s: dict[int, float] = {}
    measured = await _resolution_latency(peer, resolver, namespace, (100, 2000), plan)
    for interval in (100, 2000):
        stats = summary(measured[interval])
        p50s[interval] = stats["p50"]
        figures.append(
            Figure(
                key=f"dependency.resolution.interval_{interval}.p50",
                name=f"dependency resolved after its condition (waiter in other process), p50, "
                f"check_interval_ms={interval:,}",
                value=stats["p50"],
                unit="ms",
                baseline=raw_stats["p50"],
                baseline_name="raw PUBLISH→subscriber p50",
                target=Target("max", 2.0, unit="ms"),
                seed_published=_SEED,
                stats=stats,
                baseline_stats=raw_stats,
                detail="from just before await mark_resource_available() to resolve_dependency() returning "
                "in the child process; the two intervals are interleaved sample by sample",
            )
        )
    figures.append(
        Figure(
            key="dependency.resolution.interval_2000_vs_100",
            name="dependency resolution p50: check_interval_ms 2,000 vs 100",
            value=p50s[2000] / p50s[100],
            unit="×",
            baseline=None,
            baseline_name="",
            target=Target("info"),
            detail="event-driven: the polling interval should not matter",
        )
    )
    return figures
