"""Faults: a PostgreSQL that stops answering (packets dropped, not refused) costs an archive run its time-outs.

The archive reaches PostgreSQL through a relay the test blackholes: connections are accepted and kept open, but
nothing is forwarded any more, so only the client's own time-outs can end a wait. An archive run must then fail
within those time-outs with a clear error, trim nothing in Redis, and the next run (after the network is back)
archive everything.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from config.settings import reload_settings
from coordination.archive import migrate, tables
from coordination.archive.engine import get_engine, reset_engines
from coordination.archive.timeouts import REPLY_GRACE_S
from coordination.archive.writer import archive_once
from coordination.pipeline.components import components
from tests.integration.test_archive import raw_dump, run_pipeline
from tests.reliability.proxy import CuttableProxy

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

CONNECT_TIMEOUT_S = 2
STATEMENT_TIMEOUT_S = 1.0
# Time for everything that is not waiting on the database (reading Redis, building rows), on a busy machine.
SLACK_S = 3.0


@pytest.fixture
def proxy(postgres_server: str) -> Iterator[CuttableProxy]:
    url = make_url(postgres_server)
    relay = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    yield relay
    relay.close()


@pytest.fixture
def archive_behind_proxy(
    proxy: CuttableProxy, postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A migrated schema of the test's own, reached through the proxy with short time-outs."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    proxied = make_url(postgres_server).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    monkeypatch.setenv("COORD_DATABASE_SCHEMA", schema)
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"pl-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("COORD_DATABASE_URL", proxied)
    monkeypatch.setenv("COORD_DATABASE_CONNECT_TIMEOUT_SECONDS", str(CONNECT_TIMEOUT_S))
    monkeypatch.setenv("COORD_DATABASE_STATEMENT_TIMEOUT_SECONDS", str(STATEMENT_TIMEOUT_S))
    reload_settings()
    reset_engines()
    migrate.upgrade()
    try:
        yield {"schema": schema}
    finally:
        reset_engines()
        engine = create_engine(postgres_server, poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        monkeypatch.undo()
        reload_settings()
        reset_engines()


def archived_signals(coordination_id: str) -> int:
    query = select(func.count()).select_from(tables.signals).where(tables.signals.c.coordination_id == coordination_id)
    with get_engine().connect() as connection:
        return int(connection.execute(query).scalar_one())


def signals_in_redis(coordination_id: str) -> int:
    return len(components().signals.get_signal_history(coordination_id))


def timed_archive_run() -> tuple[Any, float]:
    started = time.monotonic()
    report = archive_once()
    return report, time.monotonic() - started


def test_an_archive_run_against_a_silent_database_fails_at_connect_and_trims_nothing(
    archive_behind_proxy: dict[str, Any], proxy: CuttableProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    coordination_id = run_pipeline(monkeypatch)
    expected = signals_in_redis(coordination_id)
    reset_engines()  # no connection opened before the outage: the run has to connect through the blackhole
    proxy.blackhole()
    before = raw_dump()

    report, seconds = timed_archive_run()

    assert not report.ok and "archive database" in (report.error or "")
    assert "timeout" in (report.error or "").lower()
    assert seconds < CONNECT_TIMEOUT_S + SLACK_S, report
    assert report.batches == 0 and report.trimmed == 0
    assert raw_dump() == before

    proxy.restore()
    again = archive_once()
    assert again.ok, again
    assert archived_signals(coordination_id) == expected > 0


def test_a_database_that_goes_silent_mid_statement_fails_the_run_within_the_reply_timeout(
    archive_behind_proxy: dict[str, Any], proxy: CuttableProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_pipeline(monkeypatch)
    assert archive_once().ok  # a pooled connection through the proxy, known to work
    second = run_pipeline(monkeypatch)
    expected = signals_in_redis(second)
    before = raw_dump()

    def silence_on_first_insert(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT") and not proxy_silenced:
            proxy_silenced.append(statement)
            proxy.blackhole()  # the INSERT goes out, and neither it nor any reply gets through

    proxy_silenced: list[str] = []
    event.listen(get_engine(), "before_cursor_execute", silence_on_first_insert)
    try:
        report, seconds = timed_archive_run()
    finally:
        event.remove(get_engine(), "before_cursor_execute", silence_on_first_insert)

    assert proxy_silenced, "the run never sent an INSERT"
    assert not report.ok and "no reply from the database" in (report.error or ""), report
    assert STATEMENT_TIMEOUT_S + REPLY_GRACE_S <= seconds < STATEMENT_TIMEOUT_S + REPLY_GRACE_S + SLACK_S, report
    assert report.trimmed == 0
    assert raw_dump() == before  # nothing trimmed, no cursor advanced

    proxy.restore()
    again = archive_once()
    assert again.ok, again
    assert archived_signals(second) == expected > 0
    assert archived_signals(first) > 0
