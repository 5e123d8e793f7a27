"""Pipeline figures through a real worker: hop latency, throughput and dependency wake-up, each beside bare Celery.

Every pipeline figure is read from the agent records the workers write (``started_ms`` when a delivery is admitted,
``finished_ms`` when its outcome is settled), in whole milliseconds. Each bare-Celery baseline runs on the same
worker process, with the same settings and concurrency, and its timestamps are truncated to whole milliseconds the
same way, so figure and baseline have the same resolution. Medians of such millisecond counts are interpolated
within their 1 ms bin (:func:`binned_median`) rather than snapped to a whole millisecond.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from bench.harness import Figure, Target, summary
from bench.pipeline_names import HOP_FIRST_TASK, HOP_SECOND_TASK, NOOP_AGENT, NOOP_TASK, STARTED_TASK
from bench.pipeline_workers import Worker

# Pause after each isolated sample, for the figures and the baselines alike: the worker finishes the sample's
# trailing work (result, acknowledgement, events) before the next sample starts.
PACE_S = 0.005
# How often the bench process looks at a coordination it waits for (one HGET): often enough not to slow the
# sampling, rarely enough to leave the two cores to the worker.
POLL_S = 0.002
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PipelinePlan:
    """How many samples each pipeline figure takes."""

    hop_samples: int  # 2-agent coordinations (and as many bare chains)
    warmup: int  # discarded first samples of each latency figure
    throughput_coordinations: int  # 5-agent coordinations per throughput round (bare: 5 × as many tasks)
    throughput_rounds: int  # rounds, alternating pipeline and bare; the median round is kept
    wakeup_samples: int  # coordinations per check interval
    archive_signals: int  # signals archived per repetition (and rows inserted raw)
    archive_reps: int  # repetitions, alternating raw and archive; the median is kept
    archive_idle_coordinations: int  # finished coordinations retained for the idle archive run
    archive_idle_reps: int  # idle runs of each kind, alternating; the median is kept


FULL = PipelinePlan(
    hop_samples=300,
    warmup=20,
    throughput_coordinations=100,
    throughput_rounds=4,
    wakeup_samples=120,
    archive_signals=20_000,
    archive_reps=3,
    archive_idle_coordinations=1000,
    archive_idle_reps=5,
)
QUICK = PipelinePlan(
    hop_samples=40,
    warmup=5,
    throughput_coordinations=30,
    throughput_rounds=1,
    wakeup_samples=15,
    archive_signals=4_000,
    archive_reps=1,
    archive_idle_coordinations=200,
    archive_idle_reps=3,
)


def binned_median(samples: Sequence[int]) -> float:
    """Median of whole-millisecond counts, interpolated within the median's 1 ms bin (grouped-data median).

    A difference of two truncated millisecond timestamps is the true difference plus a zero-mean error in
    (-1, 1) ms, so the count ``k`` stands for the bin [k - 0.5, k + 0.5); the plain median would snap to ``k``.
    """
    if not samples:
        return math.nan
    counts = Counter(samples)
    half = len(samples) / 2
    below = 0
    for value in sorted(counts):
        if below + counts[value] >= half:
            return value - 0.5 + (half - below) / counts[value]
        below += counts[value]
    return float(max(samples))  # not reached


def ms(timestamp: float) -> int:
    """A ``time.time()`` value truncated to whole milliseconds, as the pipeline's records store it."""
    return int(timestamp * 1000)


@dataclass
class PipelineRun:
    """What the figures share: the Celery app, the worker, and everything to clean up afterwards."""

    app: Any
    worker: Worker
    plan: PipelinePlan
    result_keys: set[str] = field(default_factory=set)

    def remember(self, *task_ids: str | None) -> None:
        """Note result-backend entries to delete at the end."""
        for task_id in task_ids:
            if task_id:
                self.result_keys.add(self.app.backend.get_key_for_task(task_id).decode())

    # -- pipeline side ---------------------------------------------------------------------------------------

    def wait_finished(self, coordination_ids: Sequence[str], poll_s: float = POLL_S) -> dict[str, dict[str, str]]:
        """Poll until every coordination finished; return each one's agent records (agent id -> record).

        Raises:
            RuntimeError: one did not finish within the time-out, or an agent did not complete.
        """
        from coordination.pipeline.components import components
        from coordination.store.connection import sync_client

        keys = components().keys
        client = sync_client()
        waiting = list(coordination_ids)
        deadline = time.monotonic() + TIMEOUT_S
        while waiting:
            pipe = client.pipeline(transaction=False)
            for cid in waiting:
                pipe.hget(keys.coordination(cid).meta, "status")
            statuses = pipe.execute()
            waiting = [cid for cid, status in zip(waiting, statuses, strict=True) if status == "running"]
            if not waiting:
                break
            if time.monotonic() > deadline:
                self.worker.check_alive()
                raise RuntimeError(f"{len(waiting)} coordination(s) did not finish within {TIMEOUT_S:.0f} s")
            time.sleep(poll_s)
        return self.agent_records(coordination_ids)

    def agent_records(self, coordination_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """Every agent record of the coordinations, keyed ``cid/agent``; checks that each agent completed."""
        from coordination.pipeline.components import components
        from coordination.store.connection import sync_client

        keys = components().keys
        pipe = sync_client().pipeline(transaction=False)
        for cid in coordination_ids:
            pipe.lrange(keys.coordination(cid).agents, 0, -1)
        agent_lists = pipe.execute()
        pipe = sync_client().pipeline(transaction=False)
        names: list[str] = []
        for cid, agents in zip(coordination_ids, agent_lists, strict=True):
            for agent_id in agents:
                pipe.hgetall(keys.coordination(cid).agent(agent_id))
                names.append(f"{cid}/{agent_id}")
        records = dict(zip(names, pipe.execute(), strict=True))
        for name, record in records.items():
            self.remember(record.get("task_id"))
            if record.get("status") != "completed":
                raise RuntimeError(f"agent {name} ended {record.get('status')!r}: {record.get('error')}")
        return records

    # -- bare Celery side ------------------------------------------------------------------------------------

    def get(self, result: Any) -> Any:
        """A task's result (raises if the worker died or the task failed)."""
        self.remember(result.id)
        try:
            return result.get(timeout=TIMEOUT_S)
        except Exception:
            self.worker.check_alive()
            raise


# -- 1. hop latency ------------------------------------------------------------------------------------------------


def _pipeline_hop(run: PipelineRun, workflow: Any) -> int:
    cid = workflow.submit(check_agents=False)
    records = run.wait_finished([cid])
    return int(records[f"{cid}/b"]["started_ms"]) - int(records[f"{cid}/a"]["finished_ms"])


def _bare_hop(run: PipelineRun) -> tuple[int, float]:
    from celery import chain

    app = run.app
    result = chain(app.signature(HOP_FIRST_TASK), app.signature(HOP_SECOND_TASK)).apply_async()
    run.remember(result.parent.id if result.parent is not None else None)
    reply = run.get(result)
    previous_end, started = float(reply["previous_end"]), float(reply["started"])
    return ms(started) - ms(previous_end), (started - previous_end) * 1000


def hop_figures(run: PipelineRun) -> list[Figure]:
    """Agent finished → dependent agent started, beside a bare Celery chain of two no-op tasks."""
    from coordination import Workflow

    plan = run.plan
    workflow = Workflow(
        name="bench-hop",
        agents={"a": {"task": NOOP_AGENT}, "b": {"task": NOOP_AGENT, "depends_on": ["a"]}},
    )
    ours: list[int] = []
    bare: list[int] = []
    bare_exact: list[float] = []
    for index in range(plan.warmup + plan.hop_samples):
        # Interleaved sample by sample, alternating which goes first: both see the same machine conditions.
        first_ours = index % 2 == 0
        if first_ours:
            hop = _pipeline_hop(run, workflow)
            time.sleep(PACE_S)
        bare_hop, exact = _bare_hop(run)
        time.sleep(PACE_S)
        if not first_ours:
            hop = _pipeline_hop(run, workflow)
            time.sleep(PACE_S)
        if index >= plan.warmup:
            ours.append(hop)
            bare.append(bare_hop)
            bare_exact.append(exact)
    stats = {**summary([float(v) for v in ours]), "p50_binned": binned_median(ours), "mean": _mean(ours)}
    bare_stats = {
        **summary([float(v) for v in bare]),
        "p50_binned": binned_median(bare),
        "mean": _mean(bare),
        "p50_unrounded": summary(bare_exact)["p50"],
    }
    return [
        Figure(
            key="pipeline.hop.p50",
            name="agent finished → dependent agent started (real worker, -c 2), p50",
            value=stats["p50_binned"],
            unit="ms",
            baseline=bare_stats["p50_binned"],
            baseline_name="bare Celery chain hop, no-op tasks",
            target=Target("ratio_max", 1.5),
            stats=stats,
            baseline_stats=bare_stats,
            detail="dependent's started_ms − upstream's finished_ms from the agent records of 2-agent coordinations "
            "(a → b, no-op agents), one at a time; baseline: chain(first, second) where first returns time.time() "
            "at its end and second takes time.time() at its start, truncated to ms like the records; medians "
            "interpolated within their 1 ms bin; samples interleaved",
        )
    ]


# -- 2. throughput -------------------------------------------------------------------------------------------------


def _pipeline_round(run: PipelineRun, workflow: Any, count: int) -> float:
    started = time.time()
    cids = [workflow.submit(check_agents=False) for _ in range(count)]
    records = run.wait_finished(cids, poll_s=0.02)
    end = max(int(record["finished_ms"]) for record in records.values()) / 1000
    return len(records) / (end - started)


def _bare_round(run: PipelineRun, count: int) -> float:
    import redis

    app = run.app
    started = time.time()
    results = [app.send_task(NOOP_TASK) for _ in range(count)]
    keys = [app.backend.get_key_for_task(result.id) for result in results]
    run.remember(*(result.id for result in results))
    client = redis.Redis.from_url(app.conf.result_backend)
    ends: dict[bytes, float] = {}
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while len(ends) < count:
            missing = [key for key in keys if key not in ends]
            for key, raw in zip(missing, client.mget(missing), strict=True):
                if raw is None:
                    continue
                document = run.app.backend.decode_result(raw)
                if document["status"] == "SUCCESS":
                    ends[key] = float(document["result"])
                elif document["status"] in ("FAILURE", "REVOKED"):
                    raise RuntimeError(f"baseline task {key!r} ended {document['status']}")
            if len(ends) < count:
                if time.monotonic() > deadline:
                    run.worker.check_alive()
                    raise RuntimeError(f"{count - len(ends)} baseline tasks did not finish within {TIMEOUT_S:.0f} s")
                time.sleep(0.02)
    finally:
        client.close()
    return count / (max(ends.values()) - started)


def throughput_figures(run: PipelineRun) -> list[Figure]:
    """Agents per second through a 5-agent chain, beside bare no-op tasks per second on the same worker."""
    from coordination import Workflow

    plan = run.plan
    names = ["a", "b", "c", "d", "e"]
    workflow = Workflow(
        name="bench-flow",
        agents={
            name: {"task": NOOP_AGENT, **({"depends_on": [names[i - 1]]} if i else {})} for i, name in enumerate(names)
        },
    )
    count = plan.throughput_coordinations
    ours: list[float] = []
    bare: list[float] = []
    for _round in range(plan.throughput_rounds):
        bare.append(_bare_round(run, count * len(names)))
        time.sleep(0.2)
        ours.append(_pipeline_round(run, workflow, count))
        time.sleep(0.2)
    paired = [mine / theirs for mine, theirs in zip(ours, bare, strict=True)]
    stats = {
        "median": median(ours),
        "min": min(ours),
        "max": max(ours),
        "rounds": float(len(ours)),
        "ratio_per_round_median": median(paired),
        "ratio_per_round_min": min(paired),
        "ratio_per_round_max": max(paired),
    }
    bare_stats = {"median": median(bare), "min": min(bare), "max": max(bare), "rounds": float(len(bare))}
    return [
        Figure(
            key="pipeline.throughput.agents_per_s",
            name=f"pipeline throughput: {count} coordinations × 5 no-op agents (a→b→c→d→e), 2 worker processes",
            value=stats["median"],
            unit="tasks/s",
            baseline=bare_stats["median"],
            baseline_name=f"bare Celery, {count * len(names)} no-op tasks",
            target=Target("ratio_min", 0.6),
            stats=stats,
            baseline_stats=bare_stats,
            detail="agents completed / (last agent's finished_ms − time before the first submit); baseline: no-op "
            "tasks sent by the bench process / (last task's end − time before the first send); median of "
            f"{plan.throughput_rounds} round(s), bare and pipeline rounds alternating",
        )
    ]


# -- 3. dependency wake-up -----------------------------------------------------------------------------------------


def _pipeline_wakeup(run: PipelineRun, interval_ms: int) -> int:
    from coordination import Workflow, mark_resource

    resource = f"bench-res-{uuid.uuid4().hex[:12]}"
    workflow = Workflow(
        name="bench-wake",
        agents={"w": {"task": NOOP_AGENT}},
        dependencies=[
            {
                "id": "w-needs-resource",
                "agent": "w",
                "type": "resource_availability",
                "target": resource,
                "timeout": 60,
                "check_interval_ms": interval_ms,
            }
        ],
    )
    cid = workflow.submit(check_agents=False)
    time.sleep(PACE_S)
    marked = time.time()
    mark_resource(resource, coordination_id=cid)  # settles and sends what it unblocked
    records = run.wait_finished([cid])
    return int(records[f"{cid}/w"]["started_ms"]) - ms(marked)


def _bare_send_to_start(run: PipelineRun) -> tuple[int, float]:
    sent = time.time()
    started = float(run.get(run.app.send_task(STARTED_TASK)))
    return ms(started) - ms(sent), (started - sent) * 1000


def wakeup_figures(run: PipelineRun) -> list[Figure]:
    """Resource marked (from this process) → the waiting agent started in the worker; two check intervals."""
    plan = run.plan
    intervals = (100, 2000)
    ours: dict[int, list[int]] = {interval: [] for interval in intervals}
    bare: list[int] = []
    bare_exact: list[float] = []
    warmup = max(2, plan.warmup // 4)
    for index in range(warmup + plan.wakeup_samples):
        samples = {interval: _pipeline_wakeup(run, interval) for interval in intervals}
        time.sleep(PACE_S)
        bare_latency, exact = _bare_send_to_start(run)
        time.sleep(PACE_S)
        if index >= warmup:
            for interval, value in samples.items():
                ours[interval].append(value)
            bare.append(bare_latency)
            bare_exact.append(exact)
    bare_stats = {
        **summary([float(v) for v in bare]),
        "p50_binned": binned_median(bare),
        "p50_unrounded": summary(bare_exact)["p50"],
    }
    figures: list[Figure] = []
    p50s: dict[int, float] = {}
    for interval in intervals:
        stats = {**summary([float(v) for v in ours[interval]]), "p50_binned": binned_median(ours[interval])}
        p50s[interval] = stats["p50_binned"]
        figures.append(
            Figure(
                key=f"pipeline.wakeup.interval_{interval}.p50",
                name=f"resource marked → waiting agent started (real worker), p50, check_interval_ms={interval:,}",
                value=stats["p50_binned"],
                unit="ms",
                baseline=bare_stats["p50_binned"],
                baseline_name="bare Celery send → task start",
                target=Target("max", 10.0, unit="ms"),
                stats=stats,
                baseline_stats=bare_stats,
                detail="1-agent coordinations waiting on a resource dependency; the bench process takes the time, "
                "calls mark_resource(resource, coordination_id=cid), which settles it and sends the agent it made "
                "ready; figure = the agent's started_ms − that time (ms); no beat "
                "runs, so only the event path can start the agent; the two intervals and the baseline interleaved",
            )
        )
    figures.append(
        Figure(
            key="pipeline.wakeup.interval_2000_vs_100",
            name="wake-up p50: check_interval_ms 2,000 vs 100",
            value=p50s[2000] / p50s[100],
            unit="×",
            baseline=None,
            baseline_name="",
            target=Target("info"),
            detail="event-driven: the check interval should not matter",
        )
    )
    return figures


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan
