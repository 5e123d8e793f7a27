"""A real worker process starts from `celery -A config.celery_app worker` and answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from config.celery_app import app
from coordination import task_names as names
from tests.conftest import forget_queue


@pytest.fixture
def worker(redis_server):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    node = f"{queue}@localhost"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            queue,
            "-n",
            node,
            "-c",
            "1",
            "-P",
            "solo",
            "-l",
            "warning",
            "--without-mingle",
            "--without-gossip",
        ],
        env=os.environ.copy(),
    )
    try:
        yield queue, node
    finally:
        process.terminate()
        process.wait(timeout=20)
        forget_queue(queue)


def test_the_worker_answers_inspect_ping_and_runs_the_canary_task(worker):
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
