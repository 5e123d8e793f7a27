"""What a user sees when a setting is invalid: one line naming the variable, never its value, no traceback.

Every entry point is started as the user starts it (a subprocess): the `coord` commands, a Celery worker, beat and
Flower (all through ``config.celery_app``), the demo, and Alembic's own command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "s3cr3t-pw"


def run(command: list[str], **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", **variables}
    return subprocess.run(command, env=environment, cwd=ROOT, capture_output=True, text=True, timeout=120)


def celery(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config.celery_app", *arguments]


def coord(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "coordination.cli", *arguments]


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        (coord("status", "abc"), "COORD_REDIS_URL", f"http://:{SECRET}@cache:6379/2"),
        (coord("submit", "examples/codegen.yaml"), "COORD_REDIS_URL", f"redis://:{SECRET}@cache:port/2"),
        (coord("cancel", "abc"), "COORD_BROKER_URL", f"unix:///run/redis.sock?password={SECRET}"),
        (coord("db", "upgrade"), "COORD_DATABASE_URL", f"mysql://coord:{SECRET}@db/coord"),
        (coord("bench", "core", "--quick"), "COORD_MAX_SIGNAL_BYTES", "0"),
        ([sys.executable, "-m", "bench", "core", "--quick"], "COORD_REDIS_URL", f"http://:{SECRET}@cache"),
        (coord("demo"), "COORD_RESULT_BACKEND_URL", f"redis://:{SECRET}@cache:6379/one"),
        (celery("worker"), "COORD_POLL_INTERVAL_SECONDS", "-1"),
        (celery("beat"), "COORD_REDIS_URL", f"redis://:{SECRET}@cache:6379/two"),
        (celery("flower", "--basic-auth=:"), "COORD_FLOWER_BASIC_AUTH", ":"),
        (celery("flower", f"--basic-auth=operator:{SECRET}"), "COORD_FLOWER_BASIC_AUTH", "operator:"),
    ],
    ids=[
        "status",
        "submit",
        "cancel",
        "db-upgrade",
        "bench",
        "python-m-bench",
        "demo",
        "worker",
        "beat",
        "flower",
        "flower-no-pw",
    ],
)
def test_an_invalid_setting_stops_a_command_with_one_line_naming_it(command, variable, value):
    result = run(command, **{variable: value})

    assert result.returncode == 2, result.stderr
    output = (result.stdout + result.stderr).strip()
    assert output.count("\n") == 0, output
    assert f"invalid settings: {variable}:" in output
    assert SECRET not in output
    assert "Traceback" not in output


def test_coord_check_reports_an_invalid_database_url_and_exits_non_zero():
    result = run(coord("check"), COORD_DATABASE_URL=f"nonsense-{SECRET}")

    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("FAIL settings  COORD_DATABASE_URL: must be a PostgreSQL URL")
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_url_the_archive_cannot_use_is_one_line_too():
    result = run(coord("db", "upgrade"), COORD_DATABASE_URL="sqlite://")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: COORD_DATABASE_URL: the SQLite archive needs a file (sqlite:///path/to/archive.sqlite), "
        "not an in-memory database"
    )


def test_alembic_says_failed_in_one_line_without_the_password():
    result = run([str(BIN / "alembic"), "upgrade", "head"], COORD_DATABASE_URL=f"mysql://coord:{SECRET}@db/coord")

    assert result.returncode != 0
    failed = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("FAILED:")]
    assert failed == [failed[0]] and "COORD_DATABASE_URL" in failed[0]
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
