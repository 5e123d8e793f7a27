"""A real worker process starts from `celery -A config.celery_app worker` and answers."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.celery_app import app
from coordination import task_names as names
from coordination.celery_processes import CeleryProcesses
from tests.conftest import forget_queue


@pytest.fixture
def worker(redis_server: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with CeleryProcesses(app, os.environ.copy(), tmp_path) as processes:
        started = processes.start_worker(queue, [queue], concurrency=1, pool="solo", host="localhost")
        assert started.node is not None
        try:
            yield queue, started.node
        finally:
            forget_queue(queue)


def test_the_worker_answers_inspect_ping_and_runs_the_canary_task(worker: tuple[str, str]) -> None:
    queue, node = worker
    deadline = time.monotonic() + 30
    replies = None
    while time.monotonic() < deadline:
        replies = app.control.inspect(destination=[node], timeout=1.0).ping()
        if replies:
            break
    assert replies == {node: {"ok": "pong"}}
    sent = app.send_task(names.PING, queue=queue)
    result = sent.get(timeout=20)
    sent.forget()  # the result backend is shared: leave nothing behind
    assert result["pid"] != os.getpid()
    assert abs(result["time"] - time.time()) < 60


def test_the_launcher_waits_for_its_own_worker_and_stops_it(redis_server: str, tmp_path: Path) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    try:
        with CeleryProcesses(app, os.environ.copy(), tmp_path) as processes:
            started = processes.start_worker(queue, [queue], concurrency=1, pool="solo")
            processes.wait_ready(timeout=60)
            assert app.control.inspect(destination=[started.node], timeout=1.0).ping() == {started.node: {"ok": "pong"}}
        assert not started.alive() and started.popen.returncode == 0  # a warm shutdown, not a kill
    finally:
        forget_queue(queue)


def test_a_worker_that_cannot_start_is_reported_with_its_log(redis_server: str, tmp_path: Path) -> None:
    from coordination.celery_processes import CeleryProcessError

    environment = {**os.environ, "COORD_POLL_INTERVAL_SECONDS": "-1"}  # invalid: the process exits at start
    with CeleryProcesses(app, environment, tmp_path) as processes:
        processes.start_worker("broken", ["never-used"], concurrency=1, pool="solo")
        with pytest.raises(CeleryProcessError, match="COORD_POLL_INTERVAL_SECONDS"):
            processes.wait_ready(timeout=60)
