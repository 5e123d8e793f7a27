"""The archive: what beat moves out of Redis, idempotently, trimming only what the database holds.

A contract suite: every test runs on PostgreSQL (production; a schema of the test's own) and on SQLite (the
embedded demo mode; a file in the test's tmp_path), except the few marked as one backend's. Every test also gets a
pipeline namespace of its own. Coordinations are run with the real pipeline code in this process (submission,
agent attempts, routing, records); only the Celery message that would start the next agent is captured and run
here instead of going to a broker.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import alembic.command
import pytest
import redis
from sqlalchemy import CheckConstraint, create_engine, func, inspect, select, text
from sqlalchemy.pool import NullPool

from config.settings import SettingsError, get_settings, reload_settings
from coordination.archive import migrate, tables
from coordination.archive.engine import BUSY_TIMEOUT_MS, create_archive_engine, get_engine, reset_engines
from coordination.archive.lost import mark_lost
from coordination.archive.reader import archived_history, archived_signals, archived_status
from coordination.archive.writer import archive_once, expire_archived
from coordination.errors import ArchiveUnavailableError, InvalidIdError
from coordination.metrics.models import Metric, MetricType
from coordination.metrics.storage import RedisMetricsWriter
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import Send
from coordination.pipeline.runtime import AgentRun, coordination_state, execute_attempt
from coordination.pipeline.status import read_status
from coordination.pipeline.submission import submit
from coordination.store.connection import sync_client
from coordination.store.keys import Keys, archive_namespace, metrics_stream
from coordination.store.scripts import REPLY_TTL_MS
from coordination.views.listing import list_coordinations
from coordination.views.status import coordination_status
from tests.conftest import SESSION_ROOT

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.redis]

POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.postgres)
BACKENDS = [POSTGRESQL, "sqlite"]

WORKFLOW = {
    "name": "archive-demo",
    "agents": {"model-gen": {}, "test-gen": {"depends_on": ["model-gen"]}},
}


@dataclass(frozen=True)
class Archive:
    """The archive database of one test."""

    backend: str  # "postgresql" or "sqlite"
    url: str
    schema: str  # COORD_DATABASE_SCHEMA (ignored on SQLite)
    tmp_path: Path

    def unreachable_url(self) -> str:
        """A URL of the same backend that cannot be connected to."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp_path / 'absent-directory' / 'archive.sqlite'}"
        return "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"

    def never_migrated(self) -> dict[str, str]:
        """Settings that point at a database of the same backend the archive was never migrated into."""
        if self.backend == "sqlite":
            return {"database_url": f"sqlite:///{self.tmp_path / 'never-migrated.sqlite'}"}
        return {"database_schema": f"never_{uuid.uuid4().hex[:8]}"}


@pytest.fixture(params=BACKENDS)
def archive(request: pytest.FixtureRequest, redis_server: str, tmp_path: Path) -> Iterator[Archive]:
    """A migrated archive and a pipeline namespace of this test's own, on each backend in turn."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_server")
    else:
        url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COORD_DATABASE_URL", url)
        patch.setenv("COORD_DATABASE_SCHEMA", schema)  # the SQLite archive must ignore it
        patch.setenv("COORD_PIPELINE_NAMESPACE", f"pl-{uuid.uuid4().hex[:10]}")
        reload_settings()
        reset_engines()
        migrate.upgrade()
        try:
            yield Archive(request.param, url, schema, tmp_path)
        finally:
            reset_engines()
            if request.param == "postgresql":
                engine = create_engine(url, poolclass=NullPool)
                with engine.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                engine.dispose()
    reload_settings()
    reset_engines()


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"COORD_{name.upper()}", value)
    reload_settings()
    reset_engines()


def agent_step(run: AgentRun) -> dict[str, Any]:
    """A small agent: writes its state, talks to the others, reports a quality."""
    run.state.set(f"{run.agent_id}.output", {"files": [f"{run.agent_id}.py"]}, changed_by=run.agent_id)
    run.signal("inter_agent_message", {"message_type": "note", "message": f"{run.agent_id} says hi"})
    return {"summary": f"{run.agent_id} done", "quality_score": 0.9}


def start_pipeline(monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[tuple[str, str, int]]]:
    """Submit the workflow; return its id and the agent messages that a worker would receive."""
    messages: list[tuple[str, str, int]] = []

    def capture(self: Dispatcher, task: str, queue: str, item: Send, task_id: str | None = None) -> None:
        messages.append((item.coordination_id, item.agent_id, item.attempt))

    monkeypatch.setattr(Dispatcher, "publish", capture)
    cid = submit(WorkflowSpec.model_validate(WORKFLOW), input={"project": "demo"})
    return cid, messages


def work(messages: list[tuple[str, str, int]], function: Callable[[AgentRun], Any] = agent_step) -> None:
    """Run the captured agent messages (and those they lead to) like a worker would."""
    while messages:
        cid, agent_id, attempt = messages.pop(0)
        execute_attempt(function, cid, agent_id, attempt, task_id=f"task-{uuid.uuid4().hex[:8]}")


def run_pipeline(monkeypatch: pytest.MonkeyPatch) -> str:
    cid, messages = start_pipeline(monkeypatch)
    work(messages)
    return cid


def count(table: Any, **where: Any) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with get_engine().connect() as connection:
        return int(connection.execute(query).scalar_one())


def table_counts() -> dict[str, int]:
    return {table.name: count(table) for table in tables.metadata.sorted_tables}


def write_metrics(number: int, correlation_id: str) -> list[str]:
    metrics = [
        Metric(
            metric_name="archive_test_ms",
            metric_type=MetricType.TIMING,
            value=float(n),
            unit="ms",
            tags={"n": str(n)},
            correlation_id=correlation_id,
        )
        for n in range(number)
    ]
    RedisMetricsWriter().write_batch(metrics)
    return [metric.metric_id for metric in metrics]


def raw_dump() -> dict[str, bytes | None]:
    """The test's keys with their serialized values (DUMP), to tell whether anything changed.

    The test's keys are those of its own pipeline namespace and the root's shared ones (``R:metrics``,
    ``R:store``). Other namespaces of the session are left out: a thread an earlier test left behind may still
    touch them (a subscriber's consumer group moves a stream's DUMP), which says nothing about the archive. Script
    replies kept for resends (``:reply:`` keys, expiring within a minute) are left out too.
    """
    namespace = get_settings().pipeline_namespace
    raw = redis.Redis.from_url(get_settings().redis_url.get_secret_value())
    try:
        keys = [key.decode() for key in raw.scan_iter(match=f"{SESSION_ROOT}:*", count=1000) if b":reply:" not in key]
        # Its namespace also prefixes its coordinations' state namespaces (``<namespace>.<cid>``).
        ours = [key for key in keys if namespace in key or key.count(":") == 1]
        return {key: raw.dump(key) for key in ours}
    finally:
        raw.close()


def keys_mentioning(text_: str) -> list[str]:
    """Keys that mention ``text_``, except the replies scripts keep for a minute for resends (they expire)."""
    client = sync_client()
    found = sorted(client.scan_iter(match=f"{SESSION_ROOT}:*{text_}*", count=1000))
    replies = [key for key in found if ":reply:" in key]
    assert all(0 < client.pttl(key) <= REPLY_TTL_MS for key in replies), "a script reply would never expire"
    return [key for key in found if key not in replies]


# -- migrations ------------------------------------------------------------------------------------------------


def test_the_migration_creates_every_table_exactly_as_declared_and_a_second_upgrade_changes_nothing(
    archive: Archive,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    migrate.upgrade()
    assert migrate.current_revision() == migrate.head_revision()
    engine = create_engine(archive.url, poolclass=NullPool)
    with engine.connect() as connection:
        if archive.backend == "postgresql":
            connection.execute(text(f'SET search_path TO "{archive.schema}"'))
        differences = compare_metadata(MigrationContext.configure(connection), tables.metadata)
        # Autogenerate does not compare CHECK constraints: the SQLite stand-ins for JSONB and UUID checks are.
        inspector = inspect(connection)
        checks = {
            name: sorted(str(check["name"]) for check in inspector.get_check_constraints(name))
            for name in tables.metadata.tables
        }
    engine.dispose()
    assert differences == []
    declared = {
        table.name: sorted(
            str(c.name) for c in table.constraints if isinstance(c, CheckConstraint) and archive.backend == "sqlite"
        )
        for table in tables.metadata.sorted_tables
    }
    assert checks == declared
    assert any(declared.values()) == (archive.backend == "sqlite")


# -- archiving -------------------------------------------------------------------------------------------------


def test_a_pipeline_is_archived_while_it_runs_and_again_when_it_finishes(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, messages = start_pipeline(monkeypatch)
    first = archive_once()
    assert first.ok, first.error
    with get_engine().connect() as connection:
        row = (
            connection.execute(select(tables.coordinations).where(tables.coordinations.c.coordination_id == cid))
            .mappings()
            .one()
        )
    assert row["status"] == "running"
    assert row["definition"]["name"] == "archive-demo" and row["input"] == {"project": "demo"}
    assert count(tables.dependency_events, coordination_id=cid, status="pending") == 1

    work(messages)
    report = archive_once()
    assert report.ok, report.error
    status = archived_status(cid)
    assert status is not None and status.source == "archive"
    assert status.status == "completed"
    assert [(a.agent_id, a.status, a.attempts) for a in status.agents] == [
        ("model-gen", "completed", 1),
        ("test-gen", "completed", 1),
    ]
    assert status.agent("test-gen").quality == 0.9
    assert [(d.dependency_id, d.status) for d in status.dependencies] == [("test-gen.after.model-gen", "resolved")]
    # The workflow and input sent with the first row are kept when later rows come without them.
    with get_engine().connect() as connection:
        row = (
            connection.execute(select(tables.coordinations).where(tables.coordinations.c.coordination_id == cid))
            .mappings()
            .one()
        )
    assert row["definition"]["name"] == "archive-demo" and row["input"] == {"project": "demo"}

    stream = sync_client().xrange(components().keys.coordination(cid).signals)
    assert count(tables.signals, coordination_id=cid) == len(stream) > 0
    assert [s.signal_id for s in archived_signals(cid)] == [fields["id"] for _id, fields in reversed(stream)]
    state_namespace = archive_namespace(get_settings().namespace, coordination_state(cid).namespace)
    assert count(tables.state_changes, namespace=state_namespace, coordination_id=cid) == 2
    assert count(tables.routing_decisions, coordination_id=cid) == 2


def test_another_deployment_archiving_into_the_same_database_neither_sees_nor_marks_lost_our_coordinations(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, _messages = start_pipeline(monkeypatch)  # running, never finished
    assert archive_once().ok
    ours = get_settings()

    set_env(monkeypatch, namespace=f"{ours.namespace}-other")  # same pipeline namespace, another deployment
    other = get_settings()
    assert other.pipeline_namespace == ours.pipeline_namespace
    marked = mark_lost(get_engine(), sync_client(), Keys(other.namespace, other.pipeline_namespace))
    listed = [summary.coordination_id for summary in list_coordinations().items]
    seen = archived_status(cid)

    assert marked == [] and cid not in listed and seen is None
    set_env(monkeypatch, namespace=ours.namespace)
    status = archived_status(cid)
    assert status is not None and status.status == "running"
    assert cid in [summary.coordination_id for summary in list_coordinations().items]


def test_migration_0004_qualifies_the_namespaces_of_rows_archived_before_it(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    assert archive_once().ok
    settings = get_settings()
    qualified = archive_namespace(settings.namespace, settings.pipeline_namespace)

    def namespaces() -> tuple[str, set[str]]:
        with get_engine().connect() as connection:
            own = connection.execute(
                select(tables.coordinations.c.namespace).where(tables.coordinations.c.coordination_id == cid)
            ).scalar_one()
            states = set(
                connection.execute(
                    select(tables.state_changes.c.namespace).where(tables.state_changes.c.coordination_id == cid)
                ).scalars()
            )
        return own, states

    alembic.command.downgrade(migrate.alembic_config(), "0003_approvals")  # rows as archived before 0004
    reset_engines()
    assert namespaces() == (settings.pipeline_namespace, {coordination_state(cid).namespace})

    migrate.upgrade()
    reset_engines()
    assert namespaces() == (qualified, {archive_namespace(settings.namespace, coordination_state(cid).namespace)})
    assert archived_status(cid) is not None


def test_archiving_twice_writes_nothing_twice_even_when_the_cursors_were_lost(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    metric_ids = write_metrics(5, cid)
    first = archive_once()
    assert first.ok, first.error
    after_first = table_counts()
    assert first.signals > 0 and first.metrics >= len(metric_ids)

    second = archive_once()
    assert second.ok and second.rows == 0
    assert table_counts() == after_first

    # A crash between the commit and the cursor update: the next run upserts the same rows again.
    sync_client().delete(components().keys.archive_cursors)
    third = archive_once()
    assert third.ok and third.signals == first.signals
    assert table_counts() == after_first


def test_nothing_in_redis_changes_when_the_database_is_unreachable(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, messages = start_pipeline(monkeypatch)
    work(messages)
    write_metrics(3, cid)
    components().state.set("shared.flag", True)
    before = raw_dump()
    set_env(monkeypatch, database_url=archive.unreachable_url())

    report = archive_once()

    assert not report.ok and "archive database" in (report.error or "")
    assert report.batches == 0
    assert raw_dump() == before
    assert expire_archived() == []
    assert raw_dump() == before


def test_routing_and_metrics_streams_are_trimmed_only_up_to_what_the_database_holds(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    metric_ids = write_metrics(20, cid)
    keys = components().keys
    client = sync_client()
    signals_before = client.xlen(keys.coordination(cid).signals)
    state_log = coordination_state(cid).store_keys.state_log
    log_before = client.xlen(state_log)

    report = archive_once()

    assert report.ok and report.trimmed >= 22  # 20 metrics and 2 routing decisions at least
    with get_engine().connect() as connection:
        archived = set(
            connection.execute(
                select(tables.metrics.c.metric_id).where(tables.metrics.c.metric_id.in_(metric_ids))
            ).scalars()
        )
    assert archived == set(metric_ids)
    left = {fields.get("metric", "") for _id, fields in client.xrange(metrics_stream(get_settings().namespace))}
    assert not any(metric_id in entry for entry in left for metric_id in metric_ids)
    assert client.xlen(keys.routing_history) == 0
    # Signals (replayed by subscribers) and change logs (needed by rollback) stay until the coordination expires.
    assert client.xlen(keys.coordination(cid).signals) == signals_before
    assert client.xlen(state_log) == log_before


def test_entries_the_database_cannot_store_do_not_block_the_archive(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    state = coordination_state(cid)
    # changed_by is refused with control characters now; the key and the value may still hold a NUL.
    state.set("no\x00te", "before\x00after", changed_by="writer")
    sync_client().xadd(metrics_stream(get_settings().namespace), {"name": "broken", "metric": "{not json"})
    # An entry written by something else than the emitter: readable, but the database refuses its JSON.
    signals_key = components().keys.coordination(cid).signals
    good = sync_client().xlen(signals_key)
    sync_client().xadd(
        signals_key,
        {
            "id": "foreign",
            "type": "stage_completed",
            "sender": "x",
            "to": "[]",
            "ts": "2024-01-01T00:00:00+00:00",
            "sent": "1704067200",
            "data": "{broken",
            "meta": "{}",
        },
    )

    report = archive_once()

    assert report.ok, report.error
    assert report.skipped == 2
    assert count(tables.signals, coordination_id=cid) == good
    with get_engine().connect() as connection:
        row = (
            connection.execute(
                select(tables.state_changes).where(
                    tables.state_changes.c.namespace == archive_namespace(get_settings().namespace, state.namespace),
                    tables.state_changes.c.key == "no\ufffdte",
                )
            )
            .mappings()
            .one()
        )
    assert row["new_value"] == "before\ufffdafter" and row["changed_by"] == "writer"
    assert archive_once().rows == 0


def test_small_batches_archive_everything_in_several_transactions(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, archive_batch_size="3")
    cid = run_pipeline(monkeypatch)
    write_metrics(7, cid)

    report = archive_once()

    assert report.ok, report.error
    assert report.batches > 5
    assert count(tables.signals, coordination_id=cid) == sync_client().xlen(components().keys.coordination(cid).signals)
    assert count(tables.metrics, correlation_id=cid) == 7
    assert archive_once().rows == 0


def test_a_run_out_of_time_stops_early_and_the_next_run_goes_on(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    before = raw_dump()

    stopped = archive_once(time_budget_s=0)

    assert stopped.ok and not stopped.complete and stopped.rows == 0
    assert raw_dump() == before
    assert archive_once().complete
    assert archived_status(cid) is not None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        # (a URL of another database is refused with the settings: tests/unit/test_settings.py)
        ("sqlite://", "needs a file"),
        ("sqlite:///:memory:", "needs a file"),
    ],
)
def test_an_archive_url_of_another_database_or_in_memory_is_refused_with_a_clear_error(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, url: str, problem: str
) -> None:
    cid = run_pipeline(monkeypatch)
    before = raw_dump()
    set_env(monkeypatch, database_url=url)

    report = archive_once()

    assert not report.ok and "COORD_DATABASE_URL" in (report.error or "") and problem in (report.error or "")
    assert raw_dump() == before
    with pytest.raises(SettingsError, match=problem):
        migrate.upgrade()
    with pytest.raises(SettingsError, match=problem):
        archived_status(cid)
    assert read_status(cid) is not None


def test_timestamps_come_back_as_aware_utc_whatever_offset_they_were_written_with(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    signals_key = components().keys.coordination(cid).signals
    for signal_id, written in (("east", "2024-01-01T02:00:00+02:00"), ("west", "2023-12-31T23:30:00-01:00")):
        sync_client().xadd(
            signals_key,
            {
                "id": signal_id,
                "type": "stage_completed",
                "sender": "x",
                "to": "[]",
                "ts": written,
                "sent": "1704067200.25",
                "data": "{}",
                "meta": "{}",
            },
        )

    assert archive_once().ok

    found = {signal.signal_id: signal.timestamp for signal in archived_signals(cid)}
    assert found["east"] == datetime(2024, 1, 1, tzinfo=UTC) and found["east"].utcoffset() == timedelta(0)
    assert found["west"] == datetime(2024, 1, 1, 0, 30, tzinfo=UTC) and found["west"].utcoffset() == timedelta(0)
    with get_engine().connect() as connection:
        # Ordered by the database (text on SQLite): earliest first, whatever offset the values were written with.
        ordered = connection.execute(
            select(tables.signals.c.signal_id, tables.signals.c.created_at)
            .where(tables.signals.c.coordination_id == cid, tables.signals.c.signal_id.in_(["east", "west"]))
            .order_by(tables.signals.c.created_at)
        ).all()
    assert [signal_id for signal_id, _at in ordered] == ["east", "west"]
    status = archived_status(cid)
    assert status is not None and status.created_at is not None and status.created_at.tzinfo is not None
    assert all(entry.at.utcoffset() == timedelta(0) for entry in archived_history(cid))


def test_a_batch_with_more_values_than_sqlite_binds_in_one_statement_is_archived_in_one_transaction(
    archive: Archive,
) -> None:
    # 3,400 signal rows of 10 columns: 34,000 values, beyond SQLite's usual 32,766 bound parameters per statement.
    cid = f"big-{uuid.uuid4().hex[:8]}"
    for start in range(0, 3400, 500):
        specs = [
            {"event_type": "inter_agent_message", "sender_agent_id": "bulk", "event_data": {"n": n}}
            for n in range(start, min(3400, start + 500))
        ]
        components().signals.emit_sync(cid, specs)

    report = archive_once()

    assert report.ok, report.error
    assert report.signals == 3400 and report.batches == 1
    assert count(tables.signals, coordination_id=cid) == 3400


# -- expiry ----------------------------------------------------------------------------------------------------


def test_an_archived_coordination_expires_from_redis_and_its_status_is_read_from_the_archive(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    live = read_status(cid)
    assert live is not None and live.status == "completed"
    assert archive_once().ok
    set_env(monkeypatch, retention_seconds="1")
    time.sleep(1.1)

    assert expire_archived() == [cid]

    assert keys_mentioning(cid) == []
    keys = components().keys
    client = sync_client()
    assert not client.sismember(keys.coordinations, cid) and client.zscore(keys.finished, cid) is None
    assert not any(cid in name for name in client.hkeys(keys.archive_cursors))
    archived = coordination_status(cid)
    assert archived.source == "archive"
    assert archived.model_dump(exclude={"source"}) == live.model_dump(exclude={"source"})
    history = archived_history(cid)
    assert {entry.kind for entry in history} == {"signal", "state", "routing", "dependency"}
    assert [entry.at for entry in history] == sorted(entry.at for entry in history)
    assert archive_once().rows == 0
    assert expire_archived() == []


def test_a_coordination_is_not_expired_before_everything_of_it_is_archived(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    set_env(monkeypatch, retention_seconds="1")
    time.sleep(1.1)
    assert expire_archived() == []  # never archived
    assert archive_once().ok

    # A late signal and a late state change after archiving: kept until the archive has them.
    components().signals.emit_sync(cid, [{"event_type": "stage_completed", "sender_agent_id": "late"}])
    assert expire_archived() == []
    coordination_state(cid).set("late", 1)
    assert archive_once().ok
    coordination_state(cid).set("later", 2)
    assert expire_archived() == []
    assert keys_mentioning(cid)

    assert archive_once().ok
    assert expire_archived() == [cid]
    assert count(tables.signals, coordination_id=cid) == len(archived_signals(cid))
    assert any(s.sender_agent_id == "late" for s in archived_signals(cid))
    assert count(tables.state_changes, coordination_id=cid) == 4


def test_finished_coordinations_are_read_shortly_after_they_finish_and_again_before_they_expire(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Attempts cannot outlive the 2 s time limit: 2.2 s after it finished, a coordination is left alone.
    set_env(monkeypatch, task_soft_time_limit="1", task_time_limit="2", archive_interval_seconds="0.1")
    cid = run_pipeline(monkeypatch)
    assert archive_once().ok
    just_finished = archive_once()
    assert just_finished.streams_polled == 4  # its signals, its logs, its state log, the namespace's state log
    signals_before = count(tables.signals, coordination_id=cid)

    time.sleep(2.3)
    components().signals.emit_sync(cid, [{"event_type": "stage_completed", "sender_agent_id": "late"}])
    coordination_state(cid).set("late", 1)
    idle = archive_once()
    assert idle.ok and idle.streams_polled == 1  # an idle run does not read retained coordinations
    assert count(tables.signals, coordination_id=cid) == signals_before
    assert expire_archived() == []  # not past retention; and it would not delete what is not archived

    set_env(monkeypatch, retention_seconds="1")  # now due for expiry: read once more, then deleted
    due = archive_once()
    assert due.ok and due.streams_polled == 4 and due.signals == 1 and due.state_changes == 1
    assert any(s.sender_agent_id == "late" for s in archived_signals(cid))
    # The late signal also changed the coordination's record (its signal count), archived as final before: the
    # first expiry attempt sends it back to the writer, the second deletes it.
    assert expire_archived() == []
    assert archive_once().coordinations == 1
    assert expire_archived() == [cid]


def test_a_coordination_within_its_retention_period_stays_in_redis(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    assert archive_once().ok
    assert expire_archived() == []
    assert read_status(cid) is not None


# -- reading ---------------------------------------------------------------------------------------------------


def test_reading_an_unknown_or_malformed_id_from_the_archive(archive: Archive) -> None:
    assert archived_status("never-seen") is None
    assert archived_signals("never-seen") == []
    with pytest.raises(KeyError, match="never-seen"):
        coordination_status("never-seen")
    with pytest.raises(InvalidIdError, match="coordination_id"):
        archived_status("bad id!")


def test_reading_the_archive_while_the_database_is_unreachable_says_so(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, database_url=archive.unreachable_url())
    with pytest.raises(ArchiveUnavailableError, match="archive database unreachable"):
        archived_status("any-id")
    with pytest.raises(ArchiveUnavailableError, match="archive database unreachable"):
        migrate.upgrade()


def test_reading_an_archive_that_was_never_migrated_says_how_to_fix_it(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, **archive.never_migrated())
    with pytest.raises(ArchiveUnavailableError, match="coord db upgrade"):
        archived_status("any-id")
    write_metrics(1, "not-migrated")
    report = archive_once()
    assert not report.ok and "coord db upgrade" in (report.error or "")
    assert migrate.current_revision() is None


# -- one backend's own behaviour -------------------------------------------------------------------------------


@pytest.mark.parametrize("archive", [POSTGRESQL], indirect=True)
def test_on_postgresql_each_schema_holds_an_archive_of_its_own(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    assert archive_once().ok
    assert archived_status(cid) is not None

    set_env(monkeypatch, database_schema=f"other_{uuid.uuid4().hex[:8]}")
    try:
        migrate.upgrade()
        assert archived_status(cid) is None
    finally:
        with get_engine().begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{get_settings().database_schema}" CASCADE'))


@pytest.mark.parametrize("archive", ["sqlite"], indirect=True)
def test_the_sqlite_archive_is_one_file_in_wal_mode_without_schema(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    assert archive_once().ok

    with get_engine().connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == BUSY_TIMEOUT_MS
        names = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars())
    # COORD_DATABASE_SCHEMA (set by the fixture) is ignored: the tables are in the file itself.
    assert {table.name for table in tables.metadata.sorted_tables} | {"alembic_version"} <= names
    assert (archive.tmp_path / "archive.sqlite").is_file()
    assert archived_status(cid) is not None


@pytest.mark.parametrize("archive", ["sqlite"], indirect=True)
def test_a_sqlite_writer_waits_for_another_writer_instead_of_failing(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = run_pipeline(monkeypatch)
    other = create_archive_engine(archive.url, poolclass=NullPool)
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with other.connect() as connection:
            # A write inside an open transaction holds SQLite's write lock, as a concurrent archive run's upsert does.
            connection.execute(text("CREATE TABLE lock_holder (x INTEGER)"))
            locked.set()
            release.wait(10)
            connection.rollback()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    try:
        assert locked.wait(10)
        threading.Timer(0.3, release.set).start()
        report = archive_once()
    finally:
        release.set()
        holder.join()
        other.dispose()

    assert report.ok, report.error
    assert report.seconds >= 0.2  # it did wait for the lock
    assert archived_status(cid) is not None
