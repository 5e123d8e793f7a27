"""The pipeline benchmark's own Celery worker process, on a queue of its own, and the broker keys it leaves.

One ``celery worker -c 2`` (prefork) runs both the pipeline's agents and the bare Celery baseline tasks, so every
figure and its baseline see the same worker, the same settings and the same concurrency.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import redis

from bench.env import unlink_in_batches
from coordination.celery_processes import CeleryProcess, CeleryProcessError, CeleryProcesses

ROOT = Path(__file__).resolve().parents[1]


class WorkerError(RuntimeError):
    """The benchmark's worker did not start or stopped answering."""


class Worker:
    """A ``celery -A config.celery_app worker`` subprocess consuming only ``queue`` (``coordination.celery_processes``).

    Args:
        queue: the task queue (``COORD_TASK_QUEUE``) the worker consumes and the bench sends to.
        environment: variables set for the worker on top of this process's environment.
        concurrency: prefork pool processes.
        name: the worker's node name before ``@bench`` (default: the queue's name).
        periodic: also consume beat's periodic queue (``<queue>.periodic``), as a worker started without -Q does.
    """

    def __init__(
        self,
        queue: str,
        environment: dict[str, str],
        concurrency: int = 2,
        name: str | None = None,
        periodic: bool = False,
    ) -> None:
        self.queue = queue
        self.queues = [queue, f"{queue}.periodic"] if periodic else [queue]
        self.name = name or queue
        self.node = f"{self.name}@bench"
        self.concurrency = concurrency
        self.environment = {**os.environ, **environment, "PYTHONPATH": str(ROOT)}
        self._workdir = Path(tempfile.mkdtemp(prefix=f"{queue}-"))
        self.log_path = self._workdir / f"{self.name}.log"
        self._processes: CeleryProcesses | None = None
        self._process: CeleryProcess | None = None

    def start(self) -> None:
        """Start the worker process (returns at once; see :meth:`wait_ready`)."""
        from config.celery_app import app

        self._processes = CeleryProcesses(app, self.environment, self._workdir, cwd=ROOT)
        self._process = self._processes.start_worker(
            self.name, self.queues, concurrency=self.concurrency, pool="prefork", host="bench"
        )

    def wait_ready(self, app: Any, ping_task: str, timeout: float = 60.0) -> str:
        """Return the id of a ping task sent to the worker's queue, once the worker ran it.

        Raises:
            WorkerError: the process exited or did not answer within ``timeout`` seconds.
        """
        from celery.exceptions import TimeoutError as CeleryTimeout

        deadline = time.monotonic() + timeout
        result = app.send_task(ping_task)
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                result.get(timeout=0.5)
                return str(result.id)
            except CeleryTimeout:
                continue
        raise WorkerError(f"the worker did not answer within {timeout:.0f} s; log: {self.log_path}\n{self.log_tail()}")

    def wait_answering(self, app: Any, timeout: float = 60.0) -> None:
        """Wait until this worker answers ``inspect ping`` (a ping task could be run by another worker of the queue).

        Raises:
            WorkerError: the process exited or did not answer within ``timeout`` seconds.
        """
        if self._processes is None or self._process is None:
            raise WorkerError("the worker was not started")
        try:
            self._processes.wait_ready([self._process], timeout)
        except CeleryProcessError as error:
            raise WorkerError(f"{error}\nlog: {self.log_path}") from None

    def kill_main(self) -> None:
        """SIGKILL the worker's main process (its pool processes die with it: Celery sets their parent-death signal)."""
        if self._process is not None:
            self._process.kill()

    def check_alive(self) -> None:
        """Raise if the worker process has exited.

        Raises:
            WorkerError: it has, with the end of its log.
        """
        if self._process is not None:
            try:
                self._process.raise_if_exited()
            except CeleryProcessError as error:
                raise WorkerError(str(error)) from None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the worker's log."""
        return "" if self._process is None else self._process.log_tail(lines)

    def stop(self, keep_log: bool = False) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL after 20 s; the log is deleted unless ``keep_log``."""
        if self._processes is not None:
            self._processes.stop()
        self._processes = self._process = None
        if not keep_log:
            shutil.rmtree(self._workdir, ignore_errors=True)


def delete_broker_keys(broker_url: str, queue: str, node: str) -> int:
    """Delete the broker keys of ``queue`` (the list and kombu's bindings) and the worker's entries in shared sets.

    Only keys and members naming this run's queue or worker node are touched; nothing is flushed.
    """
    client = redis.Redis.from_url(broker_url, decode_responses=True)
    deleted = 0
    try:
        own = list(client.scan_iter(match=f"*{queue}*", count=1000))
        if own:
            deleted += int(client.unlink(*own))
        # Messages the worker held unacknowledged when it stopped (a failed run) would be put back into the queue
        # by any other worker once the visibility timeout passes; forget this queue's entries in kombu's indexes.
        tags = [tag for tag, raw in client.hscan_iter("unacked") if f'"{queue}"' in raw]
        if tags:
            deleted += int(client.hdel("unacked", *tags))
            client.zrem("unacked_index", *tags)
        # Shared kombu structures: the pidbox binding set holds one member per worker node, the deadline zset one
        # per exchange; only this run's members are removed.
        for key in client.scan_iter(match="_kombu.binding*", count=1000):
            kind = client.type(key)
            if kind == "set":
                members = [m for m in client.smembers(key) if node in m or queue in m]
                if members:
                    deleted += int(client.srem(key, *members))
            elif kind == "zset":
                members = [m for m in client.zrange(key, 0, -1) if isinstance(m, str) and (node in m or queue in m)]
                if members:
                    deleted += int(client.zrem(key, *members))
    finally:
        client.close()
    return deleted


def delete_results(backend_url: str, result_keys: Iterable[str]) -> int:
    """Delete the result-backend entries of the tasks this run sent (by task id; nothing else is touched)."""
    client = redis.Redis.from_url(backend_url)
    try:
        return unlink_in_batches(client, result_keys)
    finally:
        client.close()
