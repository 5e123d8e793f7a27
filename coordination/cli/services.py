"""Worker and beat processes for ``coord demo``: found running, or started here and stopped at the end.

Processes started here run in a session of their own, so a Ctrl-C in the terminal reaches only the demo, which
then stops them in order (beat first, so nothing new is scheduled, then the worker's warm shutdown).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: How long a started worker may take to answer ``inspect ping``.
WORKER_START_TIMEOUT_S = 60.0
#: How long a process may take to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 20.0


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


class ServiceProcesses:
    """The worker and beat processes this demo started (logs in ``workdir``)."""

    def __init__(self, environment: dict[str, str], workdir: Path, root: Path) -> None:
        self.environment = environment
        self.workdir = workdir
        self.root = root
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def _start(self, name: str, arguments: list[str]) -> subprocess.Popen[bytes]:
        with open(self.workdir / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config.celery_app", *arguments],
                env=self.environment,
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.processes.append((name, process))
        return process

    def start_worker(self, node_name: str, queue: str, concurrency: int = 2, pool: str = "prefork") -> None:
        """``celery worker -Q queue -c concurrency`` named ``node_name@%h`` (``queue``: comma-separated names)."""
        self._start(
            "worker",
            [
                "worker",
                "-Q",
                queue,
                "-c",
                str(concurrency),
                "-P",
                pool,
                "-n",
                f"{node_name}@%h",
                "-l",
                "warning",
                "--without-mingle",
                "--without-gossip",
            ],
        )

    def start_beat(self) -> None:
        """``celery beat`` with its schedule file in the work directory."""
        self._start(
            "beat",
            [
                "beat",
                "-l",
                "warning",
                "-s",
                str(self.workdir / "beat-schedule"),
                "--pidfile",
                str(self.workdir / "beat.pid"),
            ],
        )

    def wait_for_worker(self, app: Any, node_name: str, timeout: float = WORKER_START_TIMEOUT_S) -> str:
        """Wait until the worker answers ``inspect ping``; return its node name.

        Raises:
            RuntimeError: a started process exited, or the worker did not answer in time (with its log's end).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.raise_if_exited()
            replies = app.control.inspect(timeout=0.5).ping() or {}
            for node in replies:
                if node.startswith(f"{node_name}@"):
                    return str(node)
        raise RuntimeError(f"the worker did not answer within {timeout:g} s\n{self.log_tail('worker')}")

    def raise_if_exited(self) -> None:
        """Raise RuntimeError (with the end of its log) if a started process is no longer running."""
        for name, process in self.processes:
            code = process.poll()
            if code is not None:
                raise RuntimeError(f"the {name} exited with code {code}\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 15) -> str:
        """The last lines of a process's log."""
        path = self.workdir / f"{name}.log"
        try:
            text = path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"  {name}| {line}" for line in text[-lines:])

    def stop(self) -> None:
        """Stop beat first, then the worker (warm shutdown); kill what does not stop in time."""
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        self.processes.clear()
