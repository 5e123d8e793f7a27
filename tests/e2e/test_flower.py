"""Flower, behind basic authentication, lists the pipeline's tasks."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from coordination import Workflow
from tests.e2e.conftest import ROOT, wait_finished


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, credentials: str | None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if credentials:
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@pytest.fixture
def flower(pipeline_services):
    port = _free_port()
    credentials = "operator:s3cret-for-tests"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "flower",
            f"--port={port}",
            "--address=127.0.0.1",
            f"--basic-auth={credentials}",
        ],
        env=pipeline_services.environment,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _ = _get(f"{url}/healthcheck", None)
            if status == 200:
                break
        except OSError:
            time.sleep(0.2)
    try:
        yield url, credentials
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_flower_requires_authentication_and_lists_the_agent_tasks(flower):
    url, credentials = flower
    time.sleep(1.0)  # let Flower's event receiver connect before the tasks run
    coordination_id = Workflow(
        name="observed",
        agents={
            "first": {"task": "e2e-step"},
            "second": {"task": "e2e-step", "depends_on": ["first"]},
        },
    ).submit()
    assert wait_finished(coordination_id).status == "completed"

    assert _get(f"{url}/api/tasks", None)[0] == 401
    deadline = time.monotonic() + 15
    mine: list[dict] = []
    while time.monotonic() < deadline and len(mine) < 2:
        status, body = _get(f"{url}/api/tasks?limit=200", credentials)
        assert status == 200
        tasks = json.loads(body)
        mine = [task for task in tasks.values() if coordination_id in str(task.get("kwargs"))]
        time.sleep(0.3)
    assert {task["name"] for task in mine} == {"agent.e2e-step"}
    assert {task["state"] for task in mine} == {"SUCCESS"}
    assert len(mine) == 2
