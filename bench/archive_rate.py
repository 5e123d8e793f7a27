"""Archive figure: signals per second moved from Redis into PostgreSQL, beside raw SQLAlchemy inserts of the same rows.

Both go to a schema of their own (``bench_<hex>`` for the archive, ``bench_<hex>_raw`` for the baseline), both
migrated by the project's migrations, so the table shape (columns, types, primary key, indexes) is the same. The
signals are emitted into a pipeline namespace of their own, so the archive run moves nothing but them.
"""

from __future__ import annotations

import math
import time
import uuid
from statistics import median
from typing import Any

from bench.env import overridden_settings
from bench.harness import Figure, Target
from bench.pipeline_figures import PipelinePlan

_KEY = "pipeline.archive.signals_per_s"
_NAME = "archive: signals moved from Redis into PostgreSQL per second (writer.archive_once)"
_KEY_EXECUTEMANY = "pipeline.archive.signals_per_s_vs_executemany"
_NAME_EXECUTEMANY = "archive rate beside raw psycopg executemany (the path its ON CONFLICT upsert takes)"
_SIGNALS_PER_COORDINATION = 1000  # below the stream cap (signal_history_size), so nothing is trimmed away
_EMIT_BATCH = 500


def archive_figures(root: str, plan: PipelinePlan) -> list[Figure]:
    """The archive rate beside the raw insert rate; a "not measured" figure when the archive cannot run here."""
    from bench.archive_idle import archive_idle_figure, idle_not_measured

    try:
        from coordination.archive import migrate, writer  # noqa: F401 (the figure needs both)
    except ImportError as error:
        reason = f"the archive writer cannot be imported ({error})"
        return [*_not_measured(reason), idle_not_measured(reason)]
    reason = _database_problem()
    if reason:
        return [*_not_measured(reason), idle_not_measured(reason)]
    suffix = uuid.uuid4().hex[:8]
    schema, raw_schema = f"bench_{suffix}", f"bench_{suffix}_raw"
    try:
        with overridden_settings(COORD_DATABASE_SCHEMA=raw_schema):
            migrate.upgrade()
        with overridden_settings(COORD_DATABASE_SCHEMA=schema, COORD_PIPELINE_NAMESPACE=f"{root}-archive"):
            migrate.upgrade()
            figures = _measure(raw_schema, plan)
        # A namespace of its own: the idle runs must find nothing new, the signals above included.
        with overridden_settings(COORD_DATABASE_SCHEMA=schema, COORD_PIPELINE_NAMESPACE=f"{root}-archive-idle"):
            return [*figures, archive_idle_figure(plan)]
    except Exception as error:  # a broken archive is reported as such, never as a number
        reason = f"{type(error).__name__}: {error}"
        return [*_not_measured(reason), idle_not_measured(reason)]
    finally:
        _drop_schemas(schema, raw_schema)


def _measure(raw_schema: str, plan: PipelinePlan) -> list[Figure]:
    from coordination.archive.writer import archive_once

    rows = _emit_signals(plan.archive_signals)
    archived: list[float] = []
    raw: list[float] = []
    raw_executemany: list[float] = []
    for _rep in range(plan.archive_reps):
        raw.append(_raw_insert(raw_schema, rows, insertmanyvalues=True))
        raw_executemany.append(_raw_insert(raw_schema, rows, insertmanyvalues=False))
        _reset_archive()
        started = time.perf_counter()
        report = archive_once()
        elapsed = time.perf_counter() - started
        if not report.ok:
            return _not_measured(f"archive_once failed: {report.error}", raw)
        if report.signals != len(rows):
            return _not_measured(f"archive_once moved {report.signals} of {len(rows)} signals", raw)
        archived.append(report.signals / elapsed)
    stats = {"median": median(archived), "min": min(archived), "max": max(archived), "signals": float(len(rows))}
    raw_stats = {"median": median(raw), "min": min(raw), "max": max(raw), "rows": float(len(rows))}
    executemany_stats = {
        "median": median(raw_executemany),
        "min": min(raw_executemany),
        "max": max(raw_executemany),
        "rows": float(len(rows)),
    }
    return [
        Figure(
            key=_KEY,
            name=_NAME,
            value=stats["median"],
            unit="rows/s",
            baseline=raw_stats["median"],
            baseline_name="raw SQLAlchemy insertmanyvalues, same rows, same table shape",
            target=Target("ratio_min", 0.25),
            stats=stats,
            baseline_stats=raw_stats,
            detail=f"{len(rows):,} signals in {len(rows) // _SIGNALS_PER_COORDINATION} coordinations' streams; "
            "archive: wall time of archive_once() (XRANGE pages, row building, upsert batches of "
            "archive_batch_size, cursor updates); baseline: the same rows, built beforehand, inserted with "
            "insert(signals) executemany (insertmanyvalues) in batches of the same size, one transaction each; "
            f"median of {plan.archive_reps} repetition(s), alternating",
        ),
        Figure(
            key=_KEY_EXECUTEMANY,
            name=_NAME_EXECUTEMANY,
            value=stats["median"],
            unit="rows/s",
            baseline=executemany_stats["median"],
            baseline_name="raw SQLAlchemy executemany (psycopg pipeline), same rows, same table shape",
            target=Target("ratio_min", 0.25),
            stats=stats,
            baseline_stats=executemany_stats,
            detail="the same archive figure against the faster raw path: SQLAlchemy does not render an INSERT ... "
            "ON CONFLICT as insertmanyvalues here, so the archive's upserts go through psycopg's executemany, "
            "which is faster than insertmanyvalues on this machine; this is the stricter comparison",
        ),
    ]


def _emit_signals(count: int) -> list[dict[str, Any]]:
    """Emit ``count`` signals into the archive namespace; return them as archive rows (for the raw baseline)."""
    from coordination.archive.rows import signal_row
    from coordination.pipeline.components import components
    from coordination.store.connection import sync_client

    parts = components()
    rows: list[dict[str, Any]] = []
    remaining, index = count, 0
    while remaining > 0:
        cid = f"bench-archive-{index}"
        size = min(remaining, _SIGNALS_PER_COORDINATION)
        for start in range(0, size, _EMIT_BATCH):
            specs = [
                {
                    "event_type": "inter_agent_message",
                    "sender_agent_id": f"agent-{n % 5}",
                    "event_data": {"agent_id": f"agent-{n % 5}", "attempt": 1, "summary": "done", "n": n},
                }
                for n in range(start, min(size, start + _EMIT_BATCH))
            ]
            parts.signals.emit_sync(cid, specs)
        entries = sync_client().xrange(parts.keys.coordination(cid).signals, "-", "+")
        rows += [signal_row(cid, entry_id, fields) for entry_id, fields in entries]
        remaining -= size
        index += 1
    return rows


def _raw_insert(raw_schema: str, rows: list[dict[str, Any]], *, insertmanyvalues: bool) -> float:
    """Rows per second of plain ``insert(signals)`` executemany batches into an empty table.

    ``insertmanyvalues``: SQLAlchemy renders multi-row ``INSERT ... VALUES`` statements (as the archive's engine
    is configured to); otherwise psycopg's own executemany runs one statement per row, pipelined.
    """
    from sqlalchemy import create_engine, insert, text
    from sqlalchemy.pool import NullPool

    from config.settings import get_settings
    from coordination.archive.tables import signals

    settings = get_settings()
    engine = create_engine(settings.database_url.get_secret_value(), poolclass=NullPool)
    engine.dialect.use_insertmanyvalues_wo_returning = insertmanyvalues
    mapped = engine.execution_options(schema_translate_map={None: raw_schema})
    statement = insert(signals)
    size = settings.archive_batch_size
    try:
        with mapped.begin() as connection:
            connection.execute(text(f'TRUNCATE "{raw_schema}".signals'))
        with mapped.connect() as connection:
            started = time.perf_counter()
            for start in range(0, len(rows), size):
                with connection.begin():
                    connection.execute(statement, rows[start : start + size])
            elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    return len(rows) / elapsed


def _reset_archive() -> None:
    """Empty the archive's signals table and forget its cursors, so the next run moves everything again."""
    from sqlalchemy import text

    from config.settings import get_settings
    from coordination.archive.engine import get_engine
    from coordination.pipeline.components import components
    from coordination.store.connection import sync_client

    with get_engine().begin() as connection:
        connection.execute(text(f'TRUNCATE "{get_settings().database_schema}".signals'))
    sync_client().delete(components().keys.archive_cursors)


def _database_problem() -> str:
    """Why PostgreSQL cannot be used here ('' when it can)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from config.settings import get_settings

    engine = create_engine(
        get_settings().database_url.get_secret_value(), poolclass=NullPool, connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as error:  # any connection problem means "not reachable"
        return f"PostgreSQL is not reachable ({str(error).splitlines()[0]})"
    finally:
        engine.dispose()
    return ""


def _drop_schemas(*schemas: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from config.settings import get_settings
    from coordination.archive.engine import reset_engines

    reset_engines()
    engine = create_engine(
        get_settings().database_url.get_secret_value(), poolclass=NullPool, connect_args={"connect_timeout": 5}
    )
    try:
        with engine.begin() as connection:
            for schema in schemas:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    except Exception as error:  # an unreachable database has no schema of ours to drop
        print(f"could not drop the bench schemas {schemas}: {error}")
    finally:
        engine.dispose()


def _not_measured(reason: str, raw: list[float] | None = None) -> list[Figure]:
    """Both archive figures, without a value, saying why (a reason, never a made-up number)."""
    return [
        Figure(
            key=key,
            name=name,
            value=math.nan,
            unit="rows/s",
            baseline=median(raw) if raw and key == _KEY else None,
            baseline_name="raw SQLAlchemy insert, same rows, same table shape",
            target=Target("ratio_min", 0.25),
            not_measured=reason,
        )
        for key, name in ((_KEY, _NAME), (_KEY_EXECUTEMANY, _NAME_EXECUTEMANY))
    ]
