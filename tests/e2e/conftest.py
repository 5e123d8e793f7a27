"""End-to-end fixtures: real worker and beat processes on a queue and namespace of their own."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from config.settings import reload_settings
from coordination.celery_processes import CeleryProcesses
from coordination.store.connection import reset_clients
from tests.conftest import forget_queue

ROOT = Path(__file__).resolve().parents[2]


def _environment(queue: str, namespace: str) -> dict[str, str]:
    return {
        **os.environ,
        "COORD_TASK_QUEUE": queue,
        "COORD_PIPELINE_NAMESPACE": namespace,
        # An archive schema of the module's own (never migrated unless a test does it, e.g. `coord demo`, and
        # dropped at the end), so no module archives into, or migrates, the shared database's public schema.
        "COORD_DATABASE_SCHEMA": namespace.replace("-", "_"),
        "COORD_AGENT_MODULES": "tests.e2e.agents,examples.codegen,examples.review",
        "COORD_RETRY_BACKOFF_BASE_SECONDS": "0.4",
        "COORD_RETRY_BACKOFF_MAX_SECONDS": "2",
        "COORD_POLL_INTERVAL_SECONDS": "0.25",
        # Beat archives only when a test asks it to (archive_once): a periodic run would advance the namespace's
        # archive cursors for the module's schema and hide rows from a test's own archive in another schema.
        "COORD_ARCHIVE_INTERVAL_SECONDS": "3600",
        "PYTHONPATH": str(ROOT),
    }


class Services:
    """Worker and beat processes of one test module (started through ``coordination.celery_processes``)."""

    def __init__(self, environment: dict[str, str], tmp: Path, suffix: str = "") -> None:
        from config.celery_app import app

        self.environment = environment
        self.tmp = tmp
        self.suffix = suffix  # of the queue and namespace; worker names start with e2e-<suffix>
        self.launched = CeleryProcesses(app, environment, tmp, cwd=ROOT)
        self.nodes: list[str] = []  # names of the workers to wait for (a test forgets one it knows has exited)

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        """The processes started, in start order (the first worker first)."""
        return [process.popen for process in self.launched.started]

    def start_worker(self, name: str, concurrency: int = 2, own_process_group: bool = False) -> subprocess.Popen[bytes]:
        """Start a worker consuming the agent and periodic queues; ``own_process_group``: a group a test can kill."""
        queue = self.environment["COORD_TASK_QUEUE"]
        started = self.launched.start_worker(
            name, [queue, f"{queue}.periodic"], concurrency=concurrency, new_session=own_process_group
        )
        self.nodes.append(name)
        return started.popen

    def start_beat(self) -> subprocess.Popen[bytes]:
        return self.launched.start_beat().popen

    def wait_for_workers(self, timeout: float = 30.0) -> None:
        """Wait until every worker this object started answers ``inspect ping`` (others on the broker do not count)."""
        self.launched.wait_ready([worker for worker in self.launched.workers if worker.name in self.nodes], timeout)

    def stop(self) -> None:
        self.launched.stop()


def _drop_schema(schema: str) -> None:
    """Drop a module's archive schema if something created it (best effort: PostgreSQL may be absent)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from config.settings import get_settings

    try:
        engine = create_engine(
            get_settings().database_url.get_secret_value(), poolclass=NullPool, connect_args={"connect_timeout": 5}
        )
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    except Exception:  # no PostgreSQL here: nothing was created either
        return


@contextmanager
def running_services(
    tmp: Path,
    worker_environment: dict[str, str] | None = None,
    *,
    beat: bool = True,
    worker_process_group: bool = False,
    archive_schema: str | None = None,
) -> Iterator[Services]:
    """Start a worker (2 processes) and, unless told not to, beat, on a queue and namespace of their own.

    This process's settings point at the same queue and namespace meanwhile. ``worker_environment`` adds or
    overrides variables of the worker and beat processes only (a fault test points their store URL at a proxy).
    ``worker_process_group`` starts the worker in a process group of its own (a test that kills the group).
    ``archive_schema``: an archive schema the test made (used by every process, left in place); by default each
    module archives into a schema of its own, dropped at the end.
    """
    suffix = uuid.uuid4().hex[:8]
    environment = _environment(f"e2e-q-{suffix}", f"e2e-{suffix}")
    if archive_schema is not None:
        environment["COORD_DATABASE_SCHEMA"] = archive_schema
    saved = {key: os.environ.get(key) for key in environment if key.startswith("COORD_")}
    os.environ.update({key: value for key, value in environment.items() if key.startswith("COORD_")})
    reload_settings()
    reset_clients()
    import config.celery_app as celery_module

    # The same broker, results and queue as the worker (a fault test may point them at servers of its own).
    celery_module.apply_connection_settings(celery_module.app)
    services = Services({**environment, **(worker_environment or {})}, tmp, suffix)
    services.start_worker(f"e2e-{suffix}", own_process_group=worker_process_group)
    if beat:
        services.start_beat()
    try:
        services.wait_for_workers()
        yield services
    finally:
        services.stop()
        forget_queue(environment["COORD_TASK_QUEUE"])
        forget_queue(f"{environment['COORD_TASK_QUEUE']}.periodic")
        if archive_schema is None:
            _drop_schema(environment["COORD_DATABASE_SCHEMA"])
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reload_settings()
        reset_clients()
        celery_module.apply_connection_settings(celery_module.app)


@pytest.fixture(scope="module")
def pipeline_services(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A worker (2 processes) and beat, with this process's settings pointed at the same queue and namespace."""
    with running_services(tmp_path_factory.mktemp("services")) as services:
        yield services


def wait_finished(coordination_id: str, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    """Poll the coordination's status until it finished."""
    from coordination import coordination_status

    deadline = time.monotonic() + timeout
    status = coordination_status(coordination_id)
    while not status.finished and time.monotonic() < deadline:
        time.sleep(0.1)
        status = coordination_status(coordination_id)
    return status
