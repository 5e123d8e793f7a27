"""Celery worker and beat processes started from Python: start, wait until they answer, stop.

The one launcher for every place that needs real processes — ``coord demo``, the end-to-end and fault tests, the
pipeline benchmark. A process is ``python -m celery -A config.celery_app worker|beat`` with the environment the
caller gives (its settings are read from it at start), its output in ``<workdir>/<name>.log``. A worker gets an
explicit node name (``name@host``), so waiting for it asks exactly that node (``inspect ping``), never another
worker on the same broker. Stopping is a warm shutdown (SIGTERM), then SIGKILL after a grace period; beat stops
before the workers, so nothing new is scheduled while they finish.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery import Celery

#: The Celery application every process loads.
CELERY_APP = "config.celery_app"
#: How long a started worker may take to answer ``inspect ping``.
READY_TIMEOUT_S = 60.0
#: How long a process may take to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 20.0
#: How long to wait for a killed process to be reaped.
KILL_WAIT_S = 10.0
#: How long one ``inspect ping`` waits for answers while waiting for workers.
PING_TIMEOUT_S = 0.5


class CeleryProcessError(RuntimeError):
    """A started process exited, or a worker did not answer in time; the message ends with its log's last lines."""


@dataclass
class CeleryProcess:
    """One started worker or beat process.

    Attributes:
        name: the log's name (``<workdir>/<name>.log``); for a worker, its node name before ``@``.
        node: a worker's node name (``name@host``); None for beat.
        popen: the process.
        log_path: where its output goes.
    """

    name: str
    node: str | None
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """The main process's id."""
        return self.popen.pid

    def alive(self) -> bool:
        """Whether the main process is still running."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the process's log, each prefixed with its name."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"  {self.name}| {line}" for line in text[-lines:])

    def raise_if_exited(self) -> None:
        """Raise if the process is no longer running.

        Raises:
            CeleryProcessError: it exited (with its exit code and the end of its log).
        """
        code = self.popen.poll()
        if code is not None:
            raise CeleryProcessError(f"the {self.name} process exited with code {code}\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the main process and reap it.

        A worker's pool processes die with it: Celery sets their parent-death signal.
        """
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=KILL_WAIT_S)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Warm shutdown (SIGTERM); SIGKILL if the process has not exited after ``timeout`` seconds."""
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class CeleryProcesses:
    """The worker and beat processes of one user (a demo, a test module, a benchmark run), stopped together.

    A context manager: leaving the ``with`` block stops every process started through it.

    Args:
        app: the Celery app used to ask workers whether they answer (pointed at the same broker as the processes).
        environment: the processes' whole environment (their ``COORD_*`` settings, ``PYTHONPATH``).
        workdir: where the logs (and beat's schedule file) go.
        cwd: the processes' working directory (default: this process's).
        new_session: start every process in a session of its own (a terminal's Ctrl-C reaches only the caller,
            and a test can kill a whole process group).
    """

    app: Celery
    environment: Mapping[str, str]
    workdir: Path
    cwd: Path | None = None
    new_session: bool = False
    started: list[CeleryProcess] = field(default_factory=list)

    def __enter__(self) -> CeleryProcesses:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def workers(self) -> list[CeleryProcess]:
        """The workers started, in start order."""
        return [process for process in self.started if process.node is not None]

    def _start(self, name: str, node: str | None, arguments: list[str], new_session: bool | None) -> CeleryProcess:
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", CELERY_APP, *arguments],
                env=dict(self.environment),
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=self.new_session if new_session is None else new_session,
            )
        process = CeleryProcess(name, node, popen, log_path)
        self.started.append(process)
        return process

    def start_worker(
        self,
        name: str,
        queues: Sequence[str],
        *,
        concurrency: int = 2,
        pool: str = "prefork",
        host: str | None = None,
        new_session: bool | None = None,
        loglevel: str = "warning",
    ) -> CeleryProcess:
        """Start ``celery worker -Q <queues> -c <concurrency> -P <pool> -n <name>@<host>`` (returns at once).

        Args:
            name: the node name before ``@`` (also the log's name).
            queues: the queues it consumes.
            concurrency: pool processes (threads for ``threads``; ``solo`` runs one task at a time).
            pool: ``prefork``, ``solo`` or ``threads``.
            host: the node name after ``@`` (default: this machine's host name, as Celery's ``%h``).
            new_session: a session (and process group) of its own; default: the object's ``new_session``.
            loglevel: the worker's log level.
        """
        node = f"{name}@{host or socket.gethostname()}"
        arguments = ["worker", "-Q", ",".join(queues), "-c", str(concurrency), "-P", pool, "-n", node]
        arguments += ["-l", loglevel, "--without-mingle", "--without-gossip"]
        return self._start(name, node, arguments, new_session)

    def start_beat(self, *, name: str = "beat", loglevel: str = "warning") -> CeleryProcess:
        """Start ``celery beat`` with its schedule file (and pid file) in the work directory (returns at once)."""
        arguments = ["beat", "-l", loglevel, "-s", str(self.workdir / f"{name}-schedule")]
        arguments += ["--pidfile", str(self.workdir / f"{name}.pid")]
        return self._start(name, None, arguments, None)

    def wait_ready(self, workers: Iterable[CeleryProcess] | None = None, timeout: float = READY_TIMEOUT_S) -> None:
        """Wait until every one of ``workers`` (default: all started here) answers ``inspect ping``.

        Raises:
            CeleryProcessError: one of them exited meanwhile, or did not answer within ``timeout``.
        """
        waiting = {process.node: process for process in (self.workers if workers is None else workers) if process.node}
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for process in waiting.values():
                process.raise_if_exited()
            replies = self.app.control.inspect(destination=sorted(waiting), timeout=PING_TIMEOUT_S).ping() or {}
            for node in replies:
                waiting.pop(node, None)
        if waiting:
            tails = "\n".join(process.log_tail() for process in waiting.values())
            raise CeleryProcessError(f"{', '.join(sorted(waiting))} did not answer within {timeout:g} s\n{tails}")

    def raise_if_exited(self) -> None:
        """Raise if a process started here is no longer running.

        Raises:
            CeleryProcessError: one exited (with its exit code and the end of its log).
        """
        for process in self.started:
            process.raise_if_exited()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop every process, the last started first (beat before its workers); kill what does not stop in time."""
        for process in reversed(self.started):
            process.stop(timeout)
        self.started.clear()
