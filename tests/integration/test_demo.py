"""What a user meets first: `coord demo` runs, with a Redis and without one (the README's examples: test_docs.py)."""

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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
