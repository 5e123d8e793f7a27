"""The archive writer: move history from Redis to the archive database in idempotent batches, then trim Redis.

One run (:func:`archive_once`, called by beat under a lock) reads, for the pipeline namespace:

- the records of every running coordination and of every finished one not yet archived in its final form
  (coordination, agent runs, dependency events, approval verdicts; skipped when unchanged since the last commit);
- the new entries of every coordination's signal stream and state change log, of the pipeline namespace's change
  log, of the routing-history stream and of the metrics stream.

Rows are upserted on their natural keys (see :mod:`coordination.archive.tables`) in batches of
``settings.archive_batch_size``, one transaction per batch. Only after a batch is committed are the cursors in
Redis (``keys.archive_cursors``: last archived stream id per source, fingerprint of the records per coordination)
advanced and the routing and metrics streams trimmed up to what was committed. Signal streams and change logs are
never trimmed here: subscribers replay signals and rollback needs the change log; both go when a finished
coordination expires (:func:`expire_archived`). A crash between commit and cursor update makes the next run
upsert the same rows again, which changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, func, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from config.settings import SettingsError, get_settings
from coordination.archive import rows as build
from coordination.archive.engine import SQLITE, get_engine, is_not_migrated, location
from coordination.archive.expiry import EXPIRE_LIMIT, expire_archived
from coordination.archive.lost import mark_lost
from coordination.archive.snapshots import Snapshot, read_snapshots
from coordination.archive.tables import metadata
from coordination.pipeline.components import components
from coordination.pipeline.progress import LIVE_ONLY_SIGNALS
from coordination.pipeline.runtime import coordination_state
from coordination.store.connection import STORE_ERRORS, sync_client
from coordination.store.keys import (
    Keys,
    archive_cursor,
    archive_namespace,
    coordination_state_namespace,
    metrics_stream,
)

__all__ = ["RUN_BUDGET_S", "ArchiveReport", "archive_once", "expire_archived"]

logger = logging.getLogger(__name__)

#: A run stops starting new batches after this long (the beat lock lasts 300 s); the next run goes on.
RUN_BUDGET_S = 120.0
# Streams read per Redis round trip, and entries per stream per read: bounds the memory of one read.
_STREAMS_PER_READ = 32
_MAX_PAGE = 2000
_RECORDS_PER_READ = 100

_TABLES: dict[str, Table] = {table.name: table for table in metadata.sorted_tables}
# Written once; a second insert of the same key is a no-op.
_INSERT_ONCE = frozenset({"signals", "state_changes", "routing_decisions", "metrics", "agent_logs"})
# Columns an upsert keeps when the new row has none (they are sent only with the first write).
_KEEP_IF_MISSING = frozenset({"definition", "input"})


@dataclass
class ArchiveReport:
    """What one archive run did. Row counts are rows sent to the database (a re-sent row changes nothing).

    Attributes:
        streams_polled: signal streams and state change logs read this run (see "Which coordinations" in
            docs/archive.md: finished coordinations are read only shortly after they finish and before expiry).
        batches: transactions committed.
        trimmed: stream entries deleted from Redis after their commit (routing and metrics streams).
        skipped: entries or rows that could not be archived (unreadable, or refused by the database); logged.
        lost: coordinations the archive held as running that the store no longer has, marked ``lost`` this run.
        complete: False when the time budget ended the run before everything was read (the next run goes on).
        error: why the run stopped, if it failed (nothing uncommitted was trimmed or marked archived).
    """

    coordinations: int = 0
    agent_runs: int = 0
    signals: int = 0
    state_changes: int = 0
    routing_decisions: int = 0
    dependency_events: int = 0
    approvals: int = 0
    metrics: int = 0
    agent_logs: int = 0
    streams_polled: int = 0
    batches: int = 0
    trimmed: int = 0
    skipped: int = 0
    lost: list[str] = field(default_factory=list)
    seconds: float = 0.0
    complete: bool = True
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the run ended without an error."""
        return self.error is None

    @property
    def rows(self) -> int:
        """Rows sent to the database, all tables together."""
        return sum(getattr(self, name) for name in _TABLES)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (the beat task's result)."""
        return {**asdict(self), "ok": self.ok, "rows": self.rows}


def archive_once(time_budget_s: float = RUN_BUDGET_S) -> ArchiveReport:
    """Archive what is new in Redis to the archive database; trim what is safe to trim once it is committed.

    Idempotent: a second run right after the first sends nothing again. Does not raise for an unreachable
    service or a database URL that is neither PostgreSQL nor a SQLite file: the report's ``error`` says what
    failed, and Redis keeps everything not yet committed.

    Args:
        time_budget_s: stop starting new batches after this many seconds.
    """
    started = time.monotonic()
    report = ArchiveReport()
    try:
        _Run(report, started + time_budget_s).execute()
    except SQLAlchemyError as error:
        report.error = f"archive database: {_first_line(error)}"
        if is_not_migrated(error):
            report.error += f" ({location()} not migrated: run `coord db upgrade`)"
    except STORE_ERRORS as error:
        report.error = f"coordination store: {_first_line(error)}"
    except SettingsError as error:
        report.error = str(error)
    if report.error:
        logger.warning("archive run stopped: %s", report.error)
    report.seconds = round(time.monotonic() - started, 3)
    return report


# -- one run ---------------------------------------------------------------------------------------------------


@dataclass
class _Stream:
    """One stream read from a cursor: where it is, how an entry becomes a row, whether to trim it."""

    key: str
    cursor_field: str
    cursor: str | None
    table: str
    to_row: Callable[[str, dict[str, str]], build.Row | None]  # None: an entry the archive does not keep
    trim: bool = False


@dataclass
class _Batch:
    rows: dict[str, list[build.Row]] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)
    trims: dict[str, str] = field(default_factory=dict)
    forget: list[str] = field(default_factory=list)
    size: int = 0

    def add(self, table: str, rows: list[build.Row]) -> None:
        self.rows.setdefault(table, []).extend(rows)
        self.size += len(rows)


class _Run:
    def __init__(self, report: ArchiveReport, deadline: float) -> None:
        settings = get_settings()
        self.report = report
        self.deadline = deadline
        self.batch_size = settings.archive_batch_size
        self.page = max(1, min(self.batch_size, _MAX_PAGE))
        self.client = sync_client()
        self.keys: Keys = components().keys
        self.root = settings.namespace
        self.batch = _Batch()

    def out_of_time(self) -> bool:
        if time.monotonic() < self.deadline:
            return False
        self.report.complete = False
        return True

    def execute(self) -> None:
        keys = self.keys
        settings = get_settings()
        now_ms = int(time.time() * 1000)
        # A finished coordination's streams only change while an attempt of it still runs (an agent settling after
        # END or a cancel), at most the task time limit after it finished, or through the seed API, rarely. Its
        # streams are read in that window and again once it is due for expiry (which deletes nothing not archived
        # to its last entry), not on every run: an idle run costs what is active, not what is retained.
        recent_ms = now_ms - int((settings.task_time_limit + 2 * settings.archive_interval_seconds) * 1000)
        due_ms = now_ms - settings.retention_seconds * 1000
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(keys.archive_cursors)
        pipe.smembers(keys.active)
        pipe.zrange(keys.finished, 0, -1)
        pipe.smembers(keys.coordinations)
        pipe.zrangebyscore(keys.finished, recent_ms, "+inf")
        pipe.zrangebyscore(keys.finished, "-inf", due_ms, start=0, num=EXPIRE_LIMIT)
        cursors, active, finished, seen, recent, due = pipe.execute()
        pipeline_ids = sorted(set(active) | set(finished))
        self.forget_stale_cursors(cursors, set(seen) | set(pipeline_ids), pipeline_ids)
        # (An active coordination is read even when its final records were archived: a re-run made it run again.)
        unsettled = [
            cid
            for cid in pipeline_ids
            if cid in active or not cursors.get(archive_cursor("rows", cid), "").startswith("F:")
        ]
        self.archive_records(unsettled, cursors)
        # Also every coordination whose final records are not archived yet (the first run after it finished).
        polled = sorted(set(active) | set(recent) | set(due) | set(unsettled))
        seed_only = set(seen) - set(pipeline_ids)  # signalled through the seed API only: no finish time to go by
        signal_ids = sorted(seed_only | set(polled))
        self.report.streams_polled = len(signal_ids) + 2 * len(polled) + 1
        streams = [
            *(self.signal_stream(cid, cursors) for cid in signal_ids),
            *(self.log_stream(cid, cursors) for cid in polled),
            self.state_stream(keys, None, cursors),
            *(self.state_stream(coordination_state(cid).store_keys, cid, cursors) for cid in polled),
            _Stream(
                keys.routing_history,
                archive_cursor("routing"),
                cursors.get(archive_cursor("routing")),
                "routing_decisions",
                lambda entry, fields: build.routing_row(archive_namespace(self.root, keys.namespace), entry, fields),
                trim=True,
            ),
            _Stream(
                metrics_stream(self.root),
                archive_cursor("metrics"),
                cursors.get(archive_cursor("metrics")),
                "metrics",
                build.metric_row,
                trim=True,
            ),
        ]
        self.archive_streams(streams)
        self.flush()
        self.report.lost = mark_lost(get_engine(), self.client, keys)

    def forget_stale_cursors(self, cursors: dict[str, str], known: set[str], pipeline_ids: list[str]) -> None:
        """Drop the cursors of coordinations no index knows any more (expired while this run's predecessor ran).

        Safe without a commit: a coordination seen again later is archived from its start, which is idempotent.
        """
        # The names only: building a ThreadSafeState per retained coordination was most of an idle run's cost.
        namespaces = {
            self.keys.namespace,
            *(coordination_state_namespace(get_settings().pipeline_namespace, cid) for cid in pipeline_ids),
        }
        stale = []
        for name in cursors:
            kind, _, subject = name.partition(":")
            if (kind in ("signals", "rows", "logs") and subject not in known) or (
                kind == "state" and subject not in namespaces
            ):
                stale.append(name)
        for name in stale:
            del cursors[name]
        # Dropped with the first commit of the run, so an unreachable database leaves Redis entirely untouched.
        self.batch.forget.extend(stale)

    # -- sources ---------------------------------------------------------------------------------------------

    def signal_stream(self, cid: str, cursors: dict[str, str]) -> _Stream:
        field_name = archive_cursor("signals", cid)
        return _Stream(
            self.keys.coordination(cid).signals,
            field_name,
            cursors.get(field_name),
            "signals",
            # Progress and streamed text are live only (the result is what is kept): passed over, cursor moved on.
            lambda entry, fields: (
                None if fields.get("type") in LIVE_ONLY_SIGNALS else build.signal_row(cid, entry, fields)
            ),
        )

    def log_stream(self, cid: str, cursors: dict[str, str]) -> _Stream:
        field_name = archive_cursor("logs", cid)
        return _Stream(
            self.keys.coordination(cid).logs,
            field_name,
            cursors.get(field_name),
            "agent_logs",
            lambda entry, fields: build.log_row(cid, entry, fields),
        )

    def state_stream(self, keys: Keys, cid: str | None, cursors: dict[str, str]) -> _Stream:
        field_name = archive_cursor("state", keys.namespace)
        namespace = archive_namespace(self.root, keys.namespace)
        return _Stream(
            keys.state_log,
            field_name,
            cursors.get(field_name),
            "state_changes",
            lambda entry, fields: build.state_change_row(namespace, cid, entry, fields),
        )

    def archive_records(self, coordination_ids: list[str], cursors: dict[str, str]) -> None:
        """Coordination, agent and dependency rows of the coordinations whose records changed."""
        for start in range(0, len(coordination_ids), _RECORDS_PER_READ):
            if self.out_of_time():
                return
            snapshots = read_snapshots(self.client, self.keys, coordination_ids[start : start + _RECORDS_PER_READ])
            changed = [
                s for s in snapshots.values() if cursors.get(archive_cursor("rows", s.coordination_id)) != s.fingerprint
            ]
            first_time = [
                s.coordination_id for s in changed if archive_cursor("rows", s.coordination_id) not in cursors
            ]
            documents = self.documents(first_time)
            for snapshot in changed:
                self.add_records(snapshot, *documents.get(snapshot.coordination_id, (None, None)))
                if self.batch.size >= self.batch_size:
                    self.flush()

    def documents(self, coordination_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """Workflow and input JSON, sent with a coordination's first row only (they never change)."""
        if not coordination_ids:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for cid in coordination_ids:
            ck = self.keys.coordination(cid)
            pipe.get(ck.workflow)
            pipe.get(ck.input)
        replies = pipe.execute()
        return {cid: (replies[2 * i], replies[2 * i + 1]) for i, cid in enumerate(coordination_ids)}

    def add_records(self, snapshot: Snapshot, definition: str | None, input_json: str | None) -> None:
        cid = snapshot.coordination_id
        try:
            coordination = build.coordination_row(
                archive_namespace(self.root, self.keys.namespace),
                cid,
                snapshot.meta,
                snapshot.signals_sent,
                definition,
                input_json,
            )
            agents = [
                build.agent_row(cid, agent, position, snapshot.agent_records.get(agent, {}))
                for position, agent in enumerate(snapshot.agents)
            ]
            dependencies = [
                row for record in snapshot.dependency_records.values() for row in build.dependency_rows(cid, record)
            ]
            approvals = build.approval_rows(cid, snapshot.approvals)
        except (KeyError, ValueError, TypeError) as error:
            logger.error("records of coordination %s are unreadable (%s); not archived", cid, error)
            self.report.skipped += 1
            return
        self.batch.add("coordinations", [coordination])
        self.batch.add("agent_runs", agents)
        self.batch.add("dependency_events", dependencies)
        self.batch.add("approvals", approvals)
        self.batch.cursors[archive_cursor("rows", cid)] = snapshot.fingerprint

    def archive_streams(self, streams: list[_Stream]) -> None:
        """Read every stream from its cursor, a page at a time, until all are drained (or time is up)."""
        pending = list(streams)
        while pending:
            if self.out_of_time():
                return
            chunk, pending = pending[:_STREAMS_PER_READ], pending[_STREAMS_PER_READ:]
            pipe = self.client.pipeline(transaction=False)
            for stream in chunk:
                pipe.xrange(stream.key, min=f"({stream.cursor}" if stream.cursor else "-", max="+", count=self.page)
            for stream, entries in zip(chunk, pipe.execute(), strict=True):
                if not entries:
                    continue
                self.add_entries(stream, entries)
                if len(entries) >= self.page:
                    pending.append(stream)
                if self.batch.size >= self.batch_size:
                    self.flush()

    def add_entries(self, stream: _Stream, entries: Iterable[tuple[str, dict[str, str]]]) -> None:
        built: list[build.Row] = []
        last = stream.cursor
        for entry_id, fields in entries:
            last = entry_id
            try:
                row = stream.to_row(entry_id, fields)
                if row is not None:
                    built.append(row)
            except (KeyError, ValueError, TypeError, AttributeError) as error:
                # An entry we cannot read would block its stream forever; it is logged and passed over.
                logger.error(
                    "unreadable entry %s of %s skipped (%s: %s)", entry_id, stream.key, type(error).__name__, error
                )
                self.report.skipped += 1
        self.batch.add(stream.table, built)
        if last is not None:
            stream.cursor = last
            self.batch.cursors[stream.cursor_field] = last
            if stream.trim:
                self.batch.trims[stream.key] = last

    # -- commit, then Redis ------------------------------------------------------------------------------------

    def flush(self) -> None:
        batch, self.batch = self.batch, _Batch()
        if not batch.cursors and not batch.forget:
            return
        refused = _commit(batch)
        self.report.batches += 1
        self.report.skipped += refused
        for table, table_rows in batch.rows.items():
            setattr(self.report, table, getattr(self.report, table) + len(table_rows))
        # Committed: only now may Redis forget (trim) or mark as archived (cursors) what this batch held.
        pipe = self.client.pipeline(transaction=True)
        if batch.forget:
            pipe.hdel(self.keys.archive_cursors, *batch.forget)
        if batch.cursors:
            pipe.hset(self.keys.archive_cursors, mapping=batch.cursors)
        for key, last in batch.trims.items():
            pipe.xtrim(key, minid=_next_id(last), approximate=False)
        replies = pipe.execute()
        self.report.trimmed += sum(int(reply) for reply in replies[len(replies) - len(batch.trims) :])


def _commit(batch: _Batch) -> int:
    """Upsert the batch in one transaction; return how many rows the database refused (0 normally).

    A row the database refuses (bad data) would fail its batch on every run; the batch is then retried row by row,
    each in a savepoint, and the refused rows are logged and left out.
    """
    engine = get_engine()
    dialect = engine.dialect.name
    try:
        with engine.begin() as connection:
            for table, table_rows in batch.rows.items():
                if table_rows:
                    connection.execute(_upsert(dialect, table), table_rows)
        return 0
    except (DataError, IntegrityError) as error:
        logger.warning("archive batch refused (%s); retrying row by row", _first_line(error))
    with engine.begin() as connection:
        return sum(_commit_rows(connection, table, table_rows) for table, table_rows in batch.rows.items())


def _commit_rows(connection: Connection, table: str, table_rows: list[build.Row]) -> int:
    refused = 0
    statement = _upsert(connection.dialect.name, table)
    for row in table_rows:
        try:
            with connection.begin_nested():
                connection.execute(statement, row)
        except (DataError, IntegrityError) as error:
            refused += 1
            key = {name: row.get(name) for name in (c.name for c in _TABLES[table].primary_key.columns)}
            logger.error("archive row of %s %s refused: %s", table, key, _first_line(error))
    return refused


@cache
def _upsert(dialect: str, table_name: str) -> postgresql.Insert | sqlite.Insert:
    """INSERT ... ON CONFLICT on the table's natural key, for ``dialect`` (``postgresql`` or ``sqlite``).

    Write-once tables do nothing on conflict; the others update, but only a row in which something differs (an
    unchanged row costs no new row version).
    """
    table = _TABLES[table_name]
    # Both dialects spell ON CONFLICT the same way (index_elements, excluded, set_, where).
    statement = sqlite.insert(table) if dialect == SQLITE else postgresql.insert(table)
    key = [column.name for column in table.primary_key.columns]
    if table_name in _INSERT_ONCE:
        return statement.on_conflict_do_nothing(index_elements=key)
    excluded = statement.excluded
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name in key or column.name == "archived_at":
            continue
        new = excluded[column.name]
        values[column.name] = func.coalesce(new, column) if column.name in _KEEP_IF_MISSING else new
    current = [table.c[name] for name in values]
    update = dict(values)
    if "archived_at" in table.c:
        update["archived_at"] = func.now()
    return statement.on_conflict_do_update(
        index_elements=key, set_=update, where=tuple_(*current).is_distinct_from(tuple_(*values.values()))
    )


def _next_id(entry_id: str) -> str:
    """The smallest stream id after ``entry_id`` (XTRIM MINID keeps ids >= it)."""
    milliseconds, _, sequence = entry_id.partition("-")
    return f"{milliseconds}-{int(sequence or 0) + 1}"


def _first_line(error: Exception) -> str:
    message = str(getattr(error, "orig", None) or error).strip()
    return message.splitlines()[0] if message else type(error).__name__
