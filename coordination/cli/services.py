"""The worker ``coord demo`` can use: one found running, and the environment of those it starts itself.

Starting and stopping them is ``coordination.celery_processes``'s job.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FoundWorker:
    """A running worker the demo can use, or why none can be used."""

    node: str | None
    reason: str


def find_worker(app: Any, queue: str, tasks: Iterable[str]) -> FoundWorker:
    """Find a running worker that consumes ``queue`` and has every task of ``tasks`` registered."""
    replies = app.control.inspect(timeout=1.0).ping() or {}
    if not replies:
        return FoundWorker(None, "no worker answers `inspect ping`")
    inspect = app.control.inspect(timeout=1.0, destination=sorted(replies))
    queues = inspect.active_queues() or {}
    registered = inspect.registered() or {}
    wanted = set(tasks)
    for node in sorted(replies):
        consumed = {item.get("name") for item in queues.get(node, [])}
        if queue in consumed and wanted <= set(registered.get(node, [])):
            return FoundWorker(node, f"{node} consumes {queue!r} and runs the example's agents")
    return FoundWorker(
        None, f"{len(replies)} worker(s) answer, but none consumes {queue!r} with the example's agents registered"
    )


def child_environment(overrides: dict[str, str], root: Path) -> dict[str, str]:
    """This process's environment with ``overrides``, the example's agents, and the project on the path."""
    environment = {**os.environ, **overrides}
    modules = [item for item in environment.get("COORD_AGENT_MODULES", "").split(",") if item.strip()]
    if "examples.codegen" not in modules:
        modules.append("examples.codegen")
    environment["COORD_AGENT_MODULES"] = ",".join(modules)
    paths = [str(root), *[item for item in environment.get("PYTHONPATH", "").split(os.pathsep) if item]]
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return environment
