"""The seed guide (``COORDINATION_PERFORMANCE_TUNING.md``) and how its Python examples run against this project.

Each test module of this package holds the examples of one section of the guide, copied verbatim (a comment gives
each one's place), checks that they are the section's own, and runs each as a module body (top-level ``await``
allowed) in a scope that provides what the fragment assumes — ``state``, ``metrics``, ``signal_coordinator``,
``routing_orchestrator``, ``context_distributor``, ``dependency_resolver``, ``coordination_id``, ``logger``, and the
user-supplied helpers some fragments call (``archive_signals_to_db``, ``process_signal``, ``hash_state``, ...) —
built from real components on the real Redis, isolated by namespace. The only rewriting allowed is of import lines
(``omninode_bridge.agents.coordination`` → ``coordination``, ``omninode_bridge.agents.metrics`` →
``coordination.metrics``); no example needs even that. The guide's "Performance Benchmarking Script" is
``bench/seed_benchmark.py``, run by ``test_benchmarking.py``.

The guide is read from ``../shared/seed/`` beside the repository (the checkout's parent holds ``shared/``, on a
developer's machine and in CI alike).

Schematic, not executable: four fragments use a literal ``...`` as an argument placeholder, which cannot run in
any system. Each is run as written (to show the error it gives is clear) and then in its closest concrete form,
made by replacing only the placeholders (see :func:`fill`).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import logging
import re
import types
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

import coordination
from coordination import (
    ConditionalRule,
    ContextDistributor,
    DependencyResolver,
    RoutingDecision,
    SignalCoordinator,
    SmartRoutingOrchestrator,
    ThreadSafeState,
)
from coordination.metrics import MetricsCollector

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT.parent / "shared" / "seed" / "COORDINATION_PERFORMANCE_TUNING.md"
WAIT_S = 10.0  # bound on waits that end at once when things work; it only stops a broken test from hanging

_HEADING = re.compile(r"^(#+) (.*?)\s*$")
_FENCE = re.compile(r"^```(\w*)\s*$")


def python_blocks(guide: str, section: str | None = None) -> list[str]:
    """The ```python blocks of ``guide`` (of the section whose heading is ``section``, any level), in order.

    A section runs from its heading to the next heading of the same or a higher level; lines inside a fenced block
    (where ``#`` starts a comment) are never headings.
    """
    blocks: list[str] = []
    level: int | None = None  # of the section being read; None: before it
    fence: str | None = None  # the open fence's language, or None outside a block
    lines: list[str] = []
    for line in guide.splitlines(keepends=True):
        if fence is not None:
            if line.rstrip() == "```":
                if fence == "python" and (section is None or level is not None):
                    blocks.append("".join(lines))
                fence, lines = None, []
            else:
                lines.append(line)
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
            continue
        heading = _HEADING.match(line)
        if heading and section is not None:
            depth = len(heading.group(1))
            if level is not None and depth <= level:
                break
            if heading.group(2) == section:
                level = depth
    return blocks


_IMPORT_RENAMES = (
    ("omninode_bridge.agents.coordination", "coordination"),
    ("omninode_bridge.agents.metrics", "coordination.metrics"),
)


def port_imports(code: str) -> str:
    """Rewrite the seed's import paths to this project's; no other line is touched."""
    lines = []
    for line in code.splitlines(keepends=True):
        if line.lstrip().startswith(("from ", "import ")):
            for old, new in _IMPORT_RENAMES:
                line = line.replace(old, new)
        lines.append(line)
    return "".join(lines)


async def run_example(code: str, scope: dict[str, Any]) -> dict[str, Any]:
    """Run ``code`` as a module body in ``scope`` (top-level ``await`` allowed) and return the scope.

    Module semantics, not a function body: names the fragment assigns are globals of ``scope``, as in the
    script or notebook the guide's fragments are written for (this is how the asyncio REPL runs its input).
    """
    compiled = compile(port_imports(code), "<seed guide example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    outcome = types.FunctionType(compiled, scope)()
    if inspect.iscoroutine(outcome):
        await outcome
    return scope


def fill(code: str, placeholders: dict[str, str]) -> str:
    """The concrete form of a schematic example: each placeholder (which must occur) replaced, nothing else."""
    for placeholder, concrete in placeholders.items():
        assert placeholder in code, f"{placeholder!r} is not in the example"
        code = code.replace(placeholder, concrete)
    return code


def halves(code: str, marker: str = "# ✅ GOOD") -> tuple[str, str]:
    """Split an example at its "GOOD" comment into its two verbatim parts."""
    position = code.index(marker)
    return code[:position], code[position:]


def seed_scope(namespace: str, **names: Any) -> dict[str, Any]:
    """What the guide's fragments assume exists, built from real components sharing one namespace.

    Also every name ``coordination`` exports (the guide's fragments use them without importing), plus
    ``asyncio``, ``deepcopy`` and a ``logger``.
    """
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    metrics = MetricsCollector(kafka_enabled=False, postgres_enabled=False)
    signal_coordinator = SignalCoordinator(state=state, metrics_collector=metrics)
    context_distributor = ContextDistributor(state=state, metrics_collector=metrics)
    scope: dict[str, Any] = {name: getattr(coordination, name) for name in coordination.__all__}
    scope.update(
        MetricsCollector=MetricsCollector,
        asyncio=asyncio,
        deepcopy=deepcopy,
        logger=logging.getLogger("seed_guide_example"),
        state=state,
        state_manager=state,
        metrics=metrics,
        signal_coordinator=signal_coordinator,
        routing_orchestrator=SmartRoutingOrchestrator(metrics_collector=metrics, state=state),
        context_distributor=context_distributor,
        distributor=context_distributor,
        dependency_resolver=DependencyResolver(
            signal_coordinator=signal_coordinator, metrics_collector=metrics, state=state
        ),
        # Unique per test: the metrics stream is shared by the whole test session.
        coordination_id=f"seed-{namespace}",
        agent_id="model-gen",
    )
    scope.update(names)
    return scope


def stored_metrics(metrics: MetricsCollector, name: str, coordination_id: str) -> list[float]:
    """Values of the metrics called ``name`` recorded for ``coordination_id`` (flushed or not)."""
    return [
        metric.value
        for metric in metrics.read_metrics(name)
        if coordination_id in (metric.tags.get("coordination_id"), metric.correlation_id)
    ]


def printed(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The lines printed since the last look."""
    return capsys.readouterr().out.splitlines()


async def cancel(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it ended."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def rule(rule_id: str, priority: int, decision: RoutingDecision, key: str = "error_count") -> ConditionalRule:
    """A conditional rule that fires when ``key`` is above 0."""
    return ConditionalRule(
        rule_id=rule_id,
        name=rule_id.replace("_", " "),
        condition_key=key,
        condition_operator=">",
        condition_value=0,
        decision=decision,
        priority=priority,
    )


def assignments(count: int) -> dict[str, dict[str, Any]]:
    """``count`` agent assignments, ``agent-00`` onwards."""
    return {f"agent-{n:02d}": {"objective": f"Execute task {n}", "tasks": ["task1"]} for n in range(count)}
