"""Faults: the Redis primary is lost and Redis Sentinel promotes its replica; nothing is lost or done twice.

A private deployment per test (a primary, one replica, three ``redis-sentinel`` processes on free ports); the
broker, the result backend and the coordination store all reach it through Sentinel URLs, as an operator would
configure them (docs/operations.md, "Redis Sentinel").
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import config.celery_app as celery_module
from config.settings import reload_settings
from coordination import Workflow, coordination_status
from coordination.pipeline.components import components
from coordination.store.connection import async_client, reset_clients, sync_client
from tests.conftest import IN_CI
from tests.e2e.agents import runs_of
from tests.e2e.conftest import Services, running_services, wait_finished
from tests.e2e.test_cli import coord
from tests.reliability.sentinel import MASTER_NAME, SentinelCluster, binaries_missing

pytestmark = [pytest.mark.redis]

COORDINATIONS = 6
AGENTS = ("first", "second", "third")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    missing = binaries_missing()
    if missing is not None:
        message = f"{missing} is not installed (Debian package redis-sentinel; .ci/run installs it)"
        if IN_CI:
            pytest.fail(message + " -- required when CI is set", pytrace=False)
        pytest.skip(message)
    deployment = SentinelCluster(tmp_path)
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture
def through_sentinel(cluster: SentinelCluster) -> Iterator[dict[str, str]]:
    """This process's broker, results and store reach the cluster through its sentinels."""
    environment = {
        "COORD_BROKER_URL": cluster.sentinel_url(0),
        "COORD_RESULT_BACKEND_URL": cluster.sentinel_url(1),
        "COORD_REDIS_URL": cluster.sentinel_url(2),
        "COORD_REDIS_SENTINEL_MASTER": MASTER_NAME,
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    reload_settings()
    reset_clients()
    celery_module.apply_connection_settings(celery_module.app)
    try:
        yield environment
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reload_settings()
        reset_clients()
        celery_module.apply_connection_settings(celery_module.app)


def test_store_clients_follow_a_switchover_and_never_see_readonly(
    cluster: SentinelCluster, through_sentinel: dict[str, str]
) -> None:
    """A demoted primary answers READONLY to the clients still connected to it; they reconnect and go on."""
    client = sync_client()
    errors: list[BaseException] = []
    writes = {"sync": 0, "async": 0}
    stop = threading.Event()

    def write_sync() -> None:
        while not stop.is_set():
            try:
                client.incr("sentinel-test:sync")
                writes["sync"] += 1
            except Exception as error:  # any error reaching the caller fails the test
                errors.append(error)
                return

    async def write_async() -> None:
        aclient = async_client()
        while not stop.is_set():
            try:
                await aclient.incr("sentinel-test:async")
                writes["async"] += 1
            except Exception as error:
                errors.append(error)
                return
            await asyncio.sleep(0)

    writers = [threading.Thread(target=write_sync), threading.Thread(target=lambda: asyncio.run(write_async()))]
    for writer in writers:
        writer.start()
    time.sleep(0.5)
    old = cluster.master_port()
    before = dict(writes)
    sentinel = cluster.sentinel_client(1)
    sentinel.execute_command("SENTINEL", "FAILOVER", MASTER_NAME)  # graceful: the old primary becomes a replica
    new = cluster.wait_for_new_master(old)
    cluster.wait_until_replica(old)  # the old primary now refuses writes (READONLY)
    switched = dict(writes)
    time.sleep(1.0)
    stop.set()
    for writer in writers:
        writer.join(timeout=30)

    assert errors == [], [repr(error) + str(error) for error in errors]
    assert new != old
    for kind in ("sync", "async"):
        assert switched[kind] > before[kind]  # writes went on during the switch
        assert writes[kind] > switched[kind]  # and after it
    # The clients now talk to the new master.
    assert int(client.connection_pool.get_master_address()[1]) == new
    assert int(client.get("sentinel-test:sync")) > 0


@pytest.fixture
def services(through_sentinel: dict[str, str], tmp_path: Path) -> Iterator[Services]:
    logs = tmp_path / "services"
    logs.mkdir()
    with running_services(logs, worker_environment=through_sentinel) as started:
        yield started


def test_every_coordination_finishes_once_when_the_primary_is_killed_mid_run(
    cluster: SentinelCluster, services: Services
) -> None:
    workflow = Workflow(
        name="failover",
        agents={
            "first": {"task": "e2e-step"},
            "second": {"task": "e2e-step", "depends_on": ["first"]},
            "third": {"task": "e2e-step", "depends_on": ["second"]},
        },
    )
    steps = {agent: {"sleep": 0.4} for agent in AGENTS}
    coordination_ids = [workflow.submit(input=steps) for _ in range(COORDINATIONS)]
    deadline = time.monotonic() + 30
    while sum(runs_of(cid, "first") for cid in coordination_ids) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)

    running = [cid for cid in coordination_ids if not coordination_status(cid).finished]
    old = cluster.master_port()
    killed_at = cluster.kill_primary()  # mid-run: agents are running and messages are queued
    cluster.wait_for_new_master(old)
    promoted_after = time.monotonic() - killed_at
    statuses = [wait_finished(cid, timeout=120) for cid in coordination_ids]
    finished_after = time.monotonic() - killed_at

    assert len(running) >= COORDINATIONS // 2  # the primary really died mid-run
    assert [status.status for status in statuses] == ["completed"] * COORDINATIONS, (statuses, services.tmp)
    for cid in coordination_ids:
        for agent in AGENTS:
            completions = components().signals.get_signal_history(
                cid, filters={"signal_type": "agent_completed", "sender_agent_id": agent}
            )
            assert len(completions) == 1, (cid, agent, len(completions))
    print(f"failover: new master {promoted_after:.1f} s after SIGKILL, all finished after {finished_after:.1f} s")


def test_coord_check_finds_every_service_through_the_sentinels(services: Services, postgres_server: str) -> None:
    upgraded = coord("db", "upgrade")  # the module's own archive schema (coord check wants its tables)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    checked = coord("check")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", name] for name in ("settings", "store", "broker", "database", "beat", "workers", "canary")
    ]
    assert "sentinel://127.0.0.1:" in lines[1]
