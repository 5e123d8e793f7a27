"""Faults: the store restarts (SIGKILL, then started again) while a coordination runs.

Without persistence (what the compose file used to run) Redis comes back empty: beat notices that the store's
generation changed and says so at ERROR, the next archive run marks the coordination ``lost``, ``coord status``
shows it lost (from the archive) and ``coord check`` shows the new generation. With ``appendonly yes`` (and
``appendfsync always``, so the test does not depend on the one-second fsync) the coordination simply finishes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from config.settings import reload_settings
from coordination import Workflow
from coordination.archive import migrate
from coordination.archive.engine import reset_engines
from coordination.archive.reader import archived_status
from coordination.store.connection import sync_client
from coordination.store.identity import current_generation
from tests.e2e.agents import pid_of
from tests.e2e.conftest import Services, running_services, wait_finished
from tests.reliability.agents import AGENT_MODULES
from tests.reliability.observe import completions, wait_until
from tests.reliability.redis_server import PrivateRedis, store_on

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = {"COORD_AGENT_MODULES": AGENT_MODULES, "COORD_ARCHIVE_INTERVAL_SECONDS": "1"}
WORKFLOW = Workflow(
    name="restarted",
    agents={"long": {"task": "fault-step"}, "after": {"task": "fault-step", "depends_on": ["long"]}},
)
LOST_IN_LOG = "the coordination store lost its data"


@pytest.fixture(scope="module")
def archive_schema(postgres_server: str) -> Iterator[str]:
    """A migrated archive schema of this module's own (workers and beat started meanwhile use it)."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COORD_DATABASE_SCHEMA", schema)
        reload_settings()
        reset_engines()
        migrate.upgrade()
        try:
            yield schema
        finally:
            reset_engines()
            engine = create_engine(postgres_server, poolclass=NullPool)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()
    reload_settings()
    reset_engines()


def _beat_log(services: Services) -> str:
    return (services.tmp / "beat.log").read_text(errors="replace")


def _archived(coordination_id: str) -> str | None:
    found = archived_status(coordination_id)
    return None if found is None else found.status


def coord(*args: str) -> subprocess.CompletedProcess[str]:
    """The ``coord`` command line, with this process's settings (store, namespace, archive schema)."""
    return subprocess.run(
        [sys.executable, "-m", "coordination.cli", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class LostStore:
    """What the restart without persistence left behind."""

    coordination_id: str
    services: Services
    generation_before: str
    generation_after: str


@pytest.fixture(scope="module")
def lost_store(redis_server: str, archive_schema: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LostStore]:
    """A coordination running on a store without persistence, archived as running; then the store restarts empty."""
    tmp = tmp_path_factory.mktemp("restart-empty")
    server = PrivateRedis(tmp / "store").start()
    try:
        with store_on(server), running_services(tmp, ENVIRONMENT, archive_schema=archive_schema) as services:
            coordination_id = WORKFLOW.submit(input={"long": {"first_sleep": 8.0}})
            wait_until(lambda: pid_of(coordination_id, "long") is not None, 30, "the long agent to run")
            wait_until(lambda: _archived(coordination_id) == "running", 30, "the archive to hold it as running")
            before = current_generation(sync_client()).generation

            server.restart()  # no AOF, no RDB: it comes back empty

            wait_until(lambda: LOST_IN_LOG in _beat_log(services), 30, "beat to notice the data loss")
            wait_until(lambda: _archived(coordination_id) == "lost", 30, "the archive to mark it lost")
            yield LostStore(coordination_id, services, before, current_generation(sync_client()).generation)
    finally:
        server.kill()


def test_beat_says_at_error_level_that_the_store_lost_its_data(lost_store: LostStore) -> None:
    lines = [line for line in _beat_log(lost_store.services).splitlines() if LOST_IN_LOG in line]
    assert len(lines) == 1, lines  # once, not every second
    assert "ERROR" in lines[0]
    assert lost_store.generation_before in lines[0] and lost_store.generation_after in lines[0]
    assert "appendonly yes" in lines[0]


def test_the_archive_marks_the_coordination_lost_with_the_reason(lost_store: LostStore) -> None:
    archived = archived_status(lost_store.coordination_id)

    assert archived is not None and archived.status == "lost"
    assert archived.finished
    assert "no longer has this coordination" in (archived.error or "")


def test_coord_status_shows_the_coordination_lost(lost_store: LostStore) -> None:
    shown = coord("status", lost_store.coordination_id)

    assert "lost" in shown.stdout, shown.stdout + shown.stderr
    assert "running" not in shown.stdout.split("\n")[0]


def test_coord_status_exits_non_zero_for_a_lost_coordination(lost_store: LostStore) -> None:
    assert coord("status", lost_store.coordination_id).returncode != 0


def test_coord_check_shows_the_new_generation(lost_store: LostStore) -> None:
    checked = coord("check")

    store_line = next(line for line in checked.stdout.splitlines() if "generation" in line)
    assert lost_store.generation_after[:12] in store_line
    assert lost_store.generation_before[:12] not in store_line


@pytest.mark.timeout(180)
def test_with_appendonly_the_coordination_finishes_after_the_restart(
    redis_server: str, archive_schema: str, tmp_path: Path
) -> None:
    server = PrivateRedis(tmp_path / "store", "--appendonly", "yes", "--appendfsync", "always").start()
    try:
        with store_on(server), running_services(tmp_path, ENVIRONMENT, archive_schema=archive_schema) as services:
            coordination_id = WORKFLOW.submit(input={"long": {"first_sleep": 4.0}})
            wait_until(lambda: pid_of(coordination_id, "long") is not None, 30, "the long agent to run")
            before = current_generation(sync_client()).generation
            time.sleep(1.5)  # (beat has read the generation)

            server.restart()  # SIGKILL while the agent runs; the AOF holds every write
            status = wait_finished(coordination_id, timeout=60)

            assert status.status == "completed", status
            assert current_generation(sync_client()).generation == before
            assert LOST_IN_LOG not in _beat_log(services)
            for name in ("long", "after"):
                assert completions(coordination_id, name) == 1
            wait_until(lambda: _archived(coordination_id) == "completed", 30, "the archive to hold it completed")
    finally:
        server.kill()
