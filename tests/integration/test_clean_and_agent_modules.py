"""`coord clean` removes exactly one namespace's keys and one queue; a bad agent module is one line, not a crash."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from config.settings import get_settings
from coordination.cli import app as cli
from tests.conftest import SESSION_ROOT

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.redis]


@pytest.fixture
def littered(redis_server: str):
    """Keys of a namespace, of a namespace that merely starts like it, and a queue with a message and bindings."""
    namespace = f"{SESSION_ROOT}-clean-{uuid.uuid4().hex[:6]}"
    queue = f"clean-q-{uuid.uuid4().hex[:6]}"
    store = redis.Redis.from_url(str(get_settings().redis_url), decode_responses=True)
    broker = redis.Redis.from_url(str(get_settings().broker_url), decode_responses=True)
    mine = [f"{namespace}:pipeline:coord:{{c1}}:meta", f"{namespace}:{{pipeline}}:finished", f"{namespace}:metrics"]
    store.hset(mine[0], "status", "running")
    store.zadd(mine[1], {"c0": 1})
    store.xadd(mine[2], {"m": "1"})
    store.sadd(f"{namespace}:{{pipeline}}:active", "c1")
    mine.append(f"{namespace}:{{pipeline}}:active")
    neighbours = [f"{namespace}x:kept", f"{namespace}-other:kept", f"x{namespace}:kept"]
    for key in neighbours:
        store.set(key, "1")
    broker.lpush(queue, '{"message": 1}')
    broker.sadd(f"_kombu.binding.{queue}", "binding")
    try:
        yield namespace, queue, mine, neighbours, store, broker
    finally:
        store.delete(*mine, *neighbours)
        broker.delete(queue, f"_kombu.binding.{queue}")
        store.close()
        broker.close()


def test_clean_lists_without_deleting_then_deletes_only_the_namespace_and_the_queue(littered):
    namespace, queue, mine, neighbours, store, broker = littered
    runner = CliRunner()
    dry = runner.invoke(cli, ["clean", "--namespace", namespace, "--queue", queue], env={"COLUMNS": "250"})
    assert dry.exit_code == 0, dry.output
    output = " ".join(dry.stdout.split())
    assert f"would delete 4 keys of namespace {namespace!r}" in output
    assert "1 waiting messages" in output and "1 running coordination(s) would be lost: c1" in output
    assert "dry run: nothing deleted" in output
    assert all(store.exists(key) for key in mine) and broker.exists(queue)

    done = runner.invoke(cli, ["clean", "--namespace", namespace, "--queue", queue, "--yes"])
    assert done.exit_code == 0, done.output
    assert "deleted 6 keys" in done.stdout
    assert not any(store.exists(key) for key in mine)
    assert not broker.exists(queue) and not broker.exists(f"_kombu.binding.{queue}")
    assert all(store.exists(key) for key in neighbours)
    again = runner.invoke(cli, ["clean", "--namespace", namespace, "--queue", queue])
    assert "nothing to remove" in again.stdout


def test_clean_refuses_a_namespace_that_is_not_an_id(redis_server):
    refused = CliRunner().invoke(cli, ["clean", "--namespace", "*"])
    assert refused.exit_code == 2 and "namespace" in refused.output


@pytest.mark.parametrize(
    ("modules", "named"), [("no_such_pkg_xyz.agents", "'no_such_pkg_xyz.agents'"), ("a b", "'a b'")]
)
def test_a_worker_with_a_bad_agent_module_stops_with_one_line_naming_it(redis_server, modules, named):
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            f"never-{uuid.uuid4().hex[:6]}",
            "--without-mingle",
            "--without-gossip",
            "-c",
            "1",
        ],
        env={**os.environ, "COORD_AGENT_MODULES": f"examples.codegen,{modules}", "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    lines = [line for line in started.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("COORD_AGENT_MODULES: ") and named in lines[-1], started.stderr
    assert "Traceback" not in started.stderr
