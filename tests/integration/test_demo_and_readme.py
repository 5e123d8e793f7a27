"""What a user meets first: `coord demo` and the README example both run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_demo(environment: dict[str, str]) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "coordination.cli", "demo", "--core"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_the_demo_resolves_every_dependency_across_two_processes(redis_server):
    output = _run_demo({**os.environ, "COLUMNS": "200"})
    assert "Using Redis at" in output
    for dependency in ("validators_wait_for_models", "schema_registry_up", "coverage_gate"):
        assert re.search(rf"{dependency}: resolved", output), output
    assert "validator-gen done" in output
    assert re.search(r"4 received", output)


def test_the_demo_runs_on_an_embedded_server_when_no_redis_is_reachable():
    environment = {
        **os.environ,
        "COLUMNS": "200",
        "COORD_REDIS_URL": "redis://127.0.0.1:1/2",
        "COORD_BROKER_URL": "redis://127.0.0.1:1/0",
        "COORD_RESULT_BACKEND_URL": "redis://127.0.0.1:1/1",
    }
    output = _run_demo(environment)
    assert "running on an embedded in-process server" in output
    assert "coverage_gate: resolved" in output


def test_the_readme_examples_run_and_do_what_they_promise(redis_server, capsys):
    import uuid

    import redis

    from config.celery_app import app
    from config.settings import get_settings
    from coordination import coordination_status
    from tests.conftest import forget_queue

    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2, "the README has the pipeline example and the components example"

    queue = f"readme-{uuid.uuid4().hex[:8]}"  # no worker consumes it: the submitted messages stay put
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        pipeline: dict = {"__name__": "readme"}
        exec(compile(blocks[0], "README.md", "exec"), pipeline)
    finally:
        app.conf.task_default_queue = previous
        broker = redis.Redis.from_url(get_settings().broker_url.get_secret_value())
        assert broker.llen(queue) == 1  # exactly the one agent whose dependencies are met was enqueued
        broker.close()
        forget_queue(queue)
    status = coordination_status(pipeline["coordination_id"])
    assert status.agent("summarise").status == "queued"
    assert status.agent("publish").status == "waiting"

    exec(compile(blocks[1], "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4
    assert printed[0] == "Generate validators"
    assert printed[1].startswith("DependencyStatus.RESOLVED {'agent_id': 'model-gen'}")
    assert printed[2] == "retry"
    assert printed[3].endswith("metrics recorded")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
