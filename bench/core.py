"""The core suite: signals, routing, context, dependencies and memory, each beside its in-run baseline.

``main(json_path, quick)`` is what ``python -m bench core`` and ``coord bench core`` call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console

from bench.env import delete_keys, restore_namespace, store_url, use_fresh_namespace
from bench.harness import Figure, machine, render, write_json
from bench.plan import FULL, QUICK, Plan

_NAMESPACE = "bench"  # the component namespace (ThreadSafeState(namespace=...)) under the bench root prefix


SECTIONS = ("routing", "context", "signals", "dependencies", "memory")


def main(json_path: str | None = None, quick: bool = False, *, only: Sequence[str] | None = None) -> int:
    """Run the core suite, print the table, write JSON if asked; return 0 when every target is met, else 1.

    Args:
        json_path: where to write the JSON results (None: do not write them).
        quick: fewer iterations (a smoke run of under 30 s; the figures are noisier).
        only: run only these sections (default: all of :data:`SECTIONS`).
    """
    sections = tuple(only) if only else SECTIONS
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown bench section(s) {unknown}; choose from {list(SECTIONS)}")
    root = use_fresh_namespace()
    console = Console(width=max(Console().width, 160))
    plan = QUICK if quick else FULL
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]  # other work on the machine shows in the figures; record it
    deleted = 0
    try:
        figures = asyncio.run(_run(root, plan, console, sections))
        redis_version = _redis_version()
    finally:
        deleted = delete_keys(root)
        restore_namespace()
    elapsed = time.perf_counter() - started
    render(figures, f"coordination core benchmark ({'quick' if quick else 'full'} run, {elapsed:.0f} s)", console)
    failed = [fig for fig in figures if fig.passed is False]
    console.print(f"{len(figures)} figures, {len(failed)} below target; root prefix {root} ({deleted} keys deleted)")
    if json_path:
        meta: dict[str, Any] = {
            "suite": "core",
            "command": "python -m bench core" + (" --quick" if quick else ""),
            "quick": quick,
            "duration_s": elapsed,
            "machine": {
                **machine(),
                "load_average_1m_at_start": load_at_start,
                "redis_version": redis_version,
                "redis_url": _redacted(store_url()),
            },
            "plan": plan.__dict__,
            "sections": list(sections),
        }
        write_json(json_path, figures, meta)
        console.print(f"JSON written to {json_path}")
    return 1 if failed else 0


async def _run(root: str, plan: Plan, console: Console, sections: Sequence[str]) -> list[Figure]:
    from bench.context import context_figures
    from bench.dependencies import dependency_figures
    from bench.peer import Peer
    from bench.routing import routing_figures
    from bench.signals import memory_figures, signal_figures

    figures: list[Figure] = []
    if "routing" in sections:
        with _step(console, "routing"), _quiet("coordination.metrics.collector"):
            figures += routing_figures(plan)
    if "context" in sections:
        with _step(console, "context"):
            figures += await context_figures(_NAMESPACE, root, plan)
    if "signals" in sections or "dependencies" in sections:
        # One child process receives for every cross-process figure (spawned once: ~1 s of imports).
        with Peer() as peer:
            if "signals" in sections:
                with _step(console, "signals"):
                    figures += await signal_figures(peer, _NAMESPACE, root, plan)
            if "dependencies" in sections:
                with _step(console, "dependencies"):
                    figures += await dependency_figures(peer, _NAMESPACE, root, plan)
    if "memory" in sections:
        with _step(console, "memory"):
            figures += await memory_figures(_NAMESPACE, plan)
    return figures


@contextmanager
def _step(console: Console, name: str) -> Iterator[None]:
    started = time.perf_counter()
    console.print(f"[dim]measuring {name}…[/]")
    yield
    console.print(f"[dim]  {name} done in {time.perf_counter() - started:.1f} s[/]")


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    # An unstarted collector warns once that its ring buffer wraps; expected in a tight route() loop.
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _redis_version() -> str:
    from coordination.store.connection import sync_client

    return str(sync_client().info("server").get("redis_version", "unknown"))


def _redacted(url: str) -> str:
    _credentials, sep, tail = url.rpartition("@")
    return f"redis://***@{tail}" if sep else url
