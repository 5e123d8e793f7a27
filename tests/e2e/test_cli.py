"""The `coord` command line, run as a user runs it: subprocesses against real Redis and a real worker.

The module's worker and beat (fixture ``pipeline_services``) serve a queue and a pipeline namespace of their own;
every `coord` subprocess inherits them through the environment.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import ROOT

AGENTS = ("model-gen", "validator-gen", "test-gen", "packager")


def coord(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordination.cli", *args],
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def row_status(output: str, agent_id: str) -> str:
    """The status column of an agent's row in a rendered agents table."""
    match = re.search(rf"│ {re.escape(agent_id)}\s+│ (\w+)", output)
    assert match, output
    return match.group(1)


@dataclass
class Submitted:
    coordination_id: str
    returncode: int
    stdout: str
    stderr: str
    marked: subprocess.CompletedProcess[str]
    approved: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def submitted(pipeline_services) -> Submitted:
    """`coord submit --wait` of the example, released from other processes by `coord resource mark CID
    artifact-store` and `coord approve CID release-approval`."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coordination.cli",
            "submit",
            "examples/codegen.yaml",
            "--input",
            '{"pace": 0}',
            "--wait",
            "--timeout",
            "60",
        ],
        env={**os.environ, "COLUMNS": "200"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    coordination_id = process.stdout.readline().strip()
    marked = coord("resource", "mark", coordination_id, "artifact-store")
    approved = coord("approve", coordination_id, "release-approval", "--by", "e2e editor", "--note", "ship it")
    rest, errors = process.communicate(timeout=90)
    return Submitted(coordination_id, process.returncode, rest, errors, marked, approved)


def test_submit_prints_the_id_then_waits_until_the_example_completed(submitted):
    assert re.fullmatch(r"codegen-[0-9a-f]{12}", submitted.coordination_id), submitted.stderr
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    for agent_id in AGENTS:
        assert row_status(submitted.stdout, agent_id) == "completed"
    assert "completed in" in submitted.stdout


def test_marking_the_resource_reports_what_it_released(submitted):
    assert submitted.marked.returncode == 0, submitted.marked.stderr
    assert f"{submitted.coordination_id}: artifact-store: available; 1 waiting dependency settled" in (
        submitted.marked.stdout
    )


def test_approving_from_the_command_line_is_recorded_and_shown_by_status_and_history(submitted):
    assert submitted.approved.returncode == 0, submitted.approved.stderr
    assert f"{submitted.coordination_id}: release-approval approved by e2e editor (ship it)" in (
        submitted.approved.stdout
    )
    shown = coord("status", submitted.coordination_id)
    assert re.search(
        r"│ release-approval\s+│ approved\s+│ packager\s+│ release editors\s+│ e2e editor", shown.stdout
    ), shown.stdout
    as_json = json.loads(coord("status", submitted.coordination_id, "--json").stdout)
    (approval,) = as_json["approvals"]
    assert (approval["status"], approval["decided_by"], approval["note"]) == ("approved", "e2e editor", "ship it")
    history = coord("history", submitted.coordination_id, "--no-archive")
    assert "approval_verdict" in history.stdout and "e2e editor" in history.stdout
    again = coord("approve", submitted.coordination_id, "release-approval", "--by", "someone else", "--reject")
    assert again.returncode == 2 and "already approved by e2e editor" in again.stderr


def test_status_shows_every_agent_completed_and_the_retry(submitted):
    shown = coord("status", submitted.coordination_id)
    assert shown.returncode == 0, shown.stderr
    for agent_id in AGENTS:
        assert row_status(shown.stdout, agent_id) == "completed"
    assert "packager-needs-artifact-store" in shown.stdout

    as_json = json.loads(coord("status", submitted.coordination_id, "--json").stdout)
    assert {agent["agent_id"]: agent["status"] for agent in as_json["agents"]} == dict.fromkeys(AGENTS, "completed")
    assert next(agent for agent in as_json["agents"] if agent["agent_id"] == "model-gen")["attempts"] == 2


def test_status_of_an_unknown_coordination_exits_1_and_says_so(pipeline_services):
    shown = coord("status", "codegen-000000000000")
    assert shown.returncode == 1
    assert "no coordination 'codegen-000000000000'" in shown.stderr


def test_watch_replays_every_signal_and_stops_at_the_end(submitted):
    watched = coord("watch", submitted.coordination_id, timeout=30)
    assert watched.returncode == 0, watched.stderr
    lines = watched.stdout.strip().splitlines()
    assert "coordination_started" in lines[0]
    assert "coordination_finished" in lines[-1] and "status=completed" in lines[-1]
    assert sum("agent_completed" in line for line in lines) == 4
    assert any("agent_retrying" in line and "model-gen" in line for line in lines)


def test_history_shows_the_signals_and_the_routing_decisions(submitted):
    shown = coord("history", submitted.coordination_id, "--no-archive")
    assert shown.returncode == 0, shown.stderr
    assert "coordination_finished" in shown.stdout
    assert "routing decisions" in shown.stdout
    assert "Retry models below the quality bar" in shown.stdout  # the rule that retried model-gen's 0.62


@pytest.fixture
def archive_schema(postgres_server):
    """A PostgreSQL schema of the test's own (dropped afterwards), as a COORD_DATABASE_SCHEMA value."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    schema = f"test_cli_{uuid.uuid4().hex[:10]}"
    yield schema
    engine = create_engine(postgres_server, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def test_check_passes_with_a_worker_serving_the_queue(pipeline_services, archive_schema):
    upgraded = coord("db", "upgrade", env={"COORD_DATABASE_SCHEMA": archive_schema})
    assert upgraded.returncode == 0, upgraded.stderr
    checked = coord("check", env={"COORD_DATABASE_SCHEMA": archive_schema})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", name] for name in ("settings", "store", "broker", "database", "beat", "workers", "canary")
    ]
    assert pipeline_services.environment["COORD_TASK_QUEUE"] in lines[-1]
    assert "generation" in lines[1]


def test_check_fails_when_no_beat_serves_the_namespace(pipeline_services):
    checked = coord("check", env={"COORD_PIPELINE_NAMESPACE": f"no-beat-{uuid.uuid4().hex[:8]}"})
    assert checked.returncode != 0
    assert re.search(r"FAIL\s+beat\s+no beat has ever run", checked.stdout), checked.stdout


def test_check_fails_when_the_store_does_not_answer(pipeline_services):
    url = f"redis://127.0.0.1:{closed_port()}/2"
    checked = coord("check", env={"COORD_REDIS_URL": url})
    assert checked.returncode != 0
    assert re.search(rf"FAIL\s+store\s+{re.escape(url)}", checked.stdout), checked.stdout


def test_a_gate_score_above_one_is_refused_naming_the_score_and_changes_nothing(pipeline_services):
    from coordination.dependencies import gate_state_key
    from coordination.pipeline.components import components

    refused = coord("gate", "set", "--global", "g", "1.5")
    assert refused.returncode != 0
    assert "score" in refused.stderr and "1.5" in refused.stderr
    assert components().state.get(gate_state_key("g")) is None


def test_a_resource_with_a_bad_id_is_refused_naming_the_field(pipeline_services):
    refused = coord("resource", "mark", "--global", "no spaces allowed")
    assert refused.returncode == 2
    assert "resource_id" in refused.stderr


def test_the_demo_runs_the_example_with_its_own_worker_and_prints_the_summary(pipeline_services, archive_schema):
    from config.celery_app import app

    demo_environment = {
        "COORD_DATABASE_SCHEMA": archive_schema,
        "COORD_PIPELINE_NAMESPACE": f"demo-{uuid.uuid4().hex[:8]}",
    }
    ran = coord(
        "demo",
        "--pace",
        "0.1",
        "--resource-after",
        "0.5",
        "--own-workers",
        # Its own pipeline namespace too: the demo archives at the end, which advances the namespace's archive
        # cursors (the last test of this module archives the module's namespace itself).
        env=demo_environment,
        timeout=150,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    node = re.search(r"Worker: started (demo-[0-9a-f]{8})@", ran.stdout)
    assert node, ran.stdout
    for agent_id in AGENTS:
        assert row_status(ran.stdout, agent_id) == "completed"
    for heading in ("dependencies", "routing decisions", "packager-needs-artifact-store", "completed in"):
        assert heading in ran.stdout
    assert "marked artifact-store available" in ran.stdout
    assert re.search(r'ran: coord approve codegen-[0-9a-f]+ release-approval --by "coord demo"', ran.stdout)
    assert "release-approval approved by coord demo; started packager" in ran.stdout
    replies = app.control.inspect(timeout=1).ping() or {}
    assert not [name for name in replies if name.startswith(node.group(1))], "the demo's worker was left running"
    # It migrated the archive it writes to, and archived its coordination there (so beat can expire it later).
    assert f"schema '{archive_schema}' (migrated)" in " ".join(ran.stdout.split())
    coordination_id = re.search(r"Submitted (codegen-[0-9a-f]+)", ran.stdout)
    assert coordination_id, ran.stdout
    listed = coord("ls", "--json", "--workflow", "codegen", env=demo_environment)
    assert listed.returncode == 0 and json.loads(listed.stdout)["warnings"] == [], listed.stdout + listed.stderr
    from sqlalchemy import create_engine, text

    from config.settings import get_settings

    engine = create_engine(get_settings().database_url.get_secret_value())
    with engine.connect() as connection:
        archived = connection.execute(
            text(f'select status from "{archive_schema}".coordinations where coordination_id = :c'),
            {"c": coordination_id.group(1)},
        ).scalar_one()
    engine.dispose()
    assert archived == "completed"


def test_the_demo_runs_on_an_embedded_redis_when_none_is_reachable(tmp_path):
    port = closed_port()
    environment = {
        "TMPDIR": str(tmp_path),  # the demo keeps its SQLite archive and logs in a temporary directory
        "COORD_REDIS_URL": f"redis://127.0.0.1:{port}/2",
        "COORD_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "COORD_RESULT_BACKEND_URL": f"redis://127.0.0.1:{port}/1",
    }
    ran = coord("demo", "--pace", "0.1", "--resource-after", "0.5", env=environment, timeout=150)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "embedded mode" in ran.stdout
    assert "Worker: started demo-" in ran.stdout and "prefork" in ran.stdout
    for agent_id in AGENTS:
        assert row_status(ran.stdout, agent_id) == "completed"
    assert "Archive:" in ran.stdout  # says whether it archives (SQLite) or not


def test_db_upgrade_on_sqlite_creates_the_tables_and_names_no_schema(tmp_path):
    from sqlalchemy import create_engine, inspect

    database = tmp_path / "archive.db"
    upgraded = coord("db", "upgrade", env={"COORD_DATABASE_URL": f"sqlite:///{database}"})
    assert upgraded.returncode == 0, upgraded.stderr
    assert "archive tables of sqlite:///" in upgraded.stdout and "schema" not in upgraded.stdout
    engine = create_engine(f"sqlite:///{database}")
    try:
        assert {"signals", "routing_decisions"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_then_history_merges_what_the_archive_took_from_redis(submitted, postgres_server):
    # Last in the module: archiving trims the namespace's routing stream in Redis.
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    schema = f"cli_{uuid.uuid4().hex[:10]}"
    environment = {"COORD_DATABASE_SCHEMA": schema}
    try:
        upgraded = coord("db", "upgrade", env=environment)
        assert upgraded.returncode == 0, upgraded.stderr
        assert f"archive schema '{schema}'" in upgraded.stdout
        archived = subprocess.run(
            [
                sys.executable,
                "-c",
                "from coordination.archive.writer import archive_once; print(archive_once().as_dict())",
            ],
            env={**os.environ, **environment},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "'routing_decisions': 0" not in archived.stdout and "'ok': True" in archived.stdout, archived

        shown = coord("history", submitted.coordination_id, env=environment)
        assert shown.returncode == 0, shown.stderr
        assert re.search(r"│ routing\s+│ model-gen attempt 1: retry .*│ archive\s+│", shown.stdout), shown.stdout
        assert re.search(r"│ dependency\s+│ packager-needs-artifact-store resolved", shown.stdout)
        assert "Retry models below the quality bar" in shown.stdout
        assert shown.stdout.count("coordination_finished") == 1  # in Redis and the archive: shown once
    finally:
        engine = create_engine(postgres_server, poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
