"""``coord check``: is every service the pipeline needs there, and does a task go through the queue?"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, inspect

from coordination.archive.engine import location, schema_name
from coordination.archive.migrate import current_revision, head_revision
from coordination.archive.tables import metadata
from coordination.cli.common import hide_password

#: How long the canary task may take to come back through the queue.
CANARY_TIMEOUT_S = 10.0
#: How long each network probe may take.
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str


def _redis(name: str, url: str) -> Check:
    import redis

    from coordination.store.connection import close_client, probe_client

    try:
        client = probe_client(url, PROBE_TIMEOUT_S)
        try:
            client.ping()
        finally:
            close_client(client)
    except (redis.RedisError, OSError) as error:
        return Check(name, False, f"{hide_password(url)}: {error}")
    return Check(name, True, hide_password(url))


def check_store() -> Check:
    """The coordination store answers PING; shows its generation (a new one after a restart means data loss)."""
    from config.settings import get_settings

    outcome = _redis("store", get_settings().redis_url.get_secret_value())
    if not outcome.ok:
        return outcome
    from coordination.store.connection import sync_client
    from coordination.store.identity import current_generation

    generation = current_generation(sync_client())
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(generation.created_ms / 1000))
    return Check("store", True, f"{outcome.detail}; generation {generation.generation[:12]} since {since}")


#: beat looks at its schedule every poll interval (1 s); a heartbeat older than this means no beat runs.
BEAT_STALE_S = 30.0


def check_beat() -> Check:
    """Beat looked at its schedule recently (its heartbeat): without beat, time-outs and repairs never happen."""
    from coordination.pipeline.heartbeat import heartbeat
    from coordination.pipeline.records import now_ms

    beat = heartbeat()
    if not beat["checked_ms"]:
        return Check("beat", False, "no beat has ever run for this namespace: start `celery -A config.celery_app beat`")
    age = (now_ms() - beat["checked_ms"]) / 1000
    if age > BEAT_STALE_S:
        return Check("beat", False, f"beat last looked at its schedule {age:.0f} s ago: is it running?")
    polled = f"; last poll {(now_ms() - beat['polled_ms']) / 1000:.0f} s ago" if beat["polled_ms"] else ""
    return Check("beat", True, f"alive ({age:.1f} s ago){polled}")


def check_broker() -> Check:
    """The Celery broker answers PING."""
    from config.settings import get_settings

    return _redis("broker", get_settings().broker_url.get_secret_value())


def check_database() -> Check:
    """The archive database answers ``select 1``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from config.settings import get_settings

    settings = get_settings()
    url, shown = settings.database_url.get_secret_value(), str(settings.database_url)
    try:
        try:
            from coordination.archive.engine import get_engine
        except ImportError:
            engine = create_engine(url, poolclass=NullPool)
        else:
            engine = get_engine()
        with engine.connect() as connection:
            connection.execute(text("select 1"))
            missing = missing_archive_tables(connection)
    except Exception as error:  # any driver's connection error means "not reachable"
        message = str(getattr(error, "orig", None) or error).strip().splitlines()
        return Check("database", False, f"{shown}: {message[0] if message else type(error).__name__}")
    if missing:
        return Check(
            "database",
            False,
            f"{shown}: archive tables missing in {location()} ({', '.join(missing)}); run `coord db upgrade`",
        )
    current, head = current_revision(), head_revision()
    if current != head:
        return Check(
            "database",
            False,
            f"{shown}: archive at revision {current}, this version needs {head}; run `coord db upgrade`",
        )
    return Check("database", True, f"{shown}, archive tables in {location()} at revision {head}")


def missing_archive_tables(connection: Connection) -> list[str]:
    """Names of the archive's tables that the configured schema (or SQLite file) does not have."""
    inspector = inspect(connection)
    schema = schema_name()
    return [table.name for table in metadata.sorted_tables if not inspector.has_table(table.name, schema=schema)]


def check_workers() -> Check:
    """At least one worker answers ``inspect ping``."""
    from config.celery_app import app

    replies = app.control.inspect(timeout=1.0).ping() or {}
    if not replies:
        return Check("workers", False, "no worker answered `inspect ping` within 1 s")
    return Check("workers", True, f"{len(replies)} answering: {', '.join(sorted(replies))}")


def check_canary() -> Check:
    """A ping task goes through the configured queue to a worker and its result comes back."""
    from celery.exceptions import TimeoutError as CeleryTimeout

    from config.celery_app import app
    from coordination import task_names as names

    queue = app.conf.task_default_queue
    started = time.perf_counter()
    result = app.send_task(names.PING, queue=queue)
    try:
        answer = result.get(timeout=CANARY_TIMEOUT_S)
    except CeleryTimeout:
        # The canary's message must not run later, on a worker that comes after the check gave up; and its result
        # subscription is dropped now, not at interpreter shutdown.
        result.revoke()
        result.backend.remove_pending_result(result)
        return Check("canary", False, f"no worker ran {names.PING} from queue {queue!r} within {CANARY_TIMEOUT_S:g} s")
    elapsed = (time.perf_counter() - started) * 1000
    where = f"pid {answer.get('pid')} on {answer.get('host')}"
    return Check("canary", True, f"queue {queue!r} → {where} in {elapsed:.0f} ms")


def check_settings() -> Check:
    """The ``COORD_*`` variables are valid (every other check reads them)."""
    from config.settings import SettingsError, get_settings

    try:
        get_settings()
    except SettingsError as error:
        return Check("settings", False, str(error).removeprefix("invalid settings: "))
    return Check("settings", True, "COORD_* variables valid")


def run_checks(report: Callable[[Check], None]) -> list[Check]:
    """Run every check, reporting each as it finishes; the others need valid settings, worker checks a broker."""
    settings = check_settings()
    report(settings)
    if not settings.ok:
        return [settings]
    outcomes = [settings]
    for probe in (check_store, check_broker, check_database):
        outcome = probe()
        report(outcome)
        outcomes.append(outcome)
    if next(outcome.ok for outcome in outcomes if outcome.name == "store"):
        beat = check_beat()
        report(beat)
        outcomes.append(beat)
    broker_reachable = next(outcome.ok for outcome in outcomes if outcome.name == "broker")
    if not broker_reachable:
        skipped = [Check(name, False, "skipped: the broker is unreachable") for name in ("workers", "canary")]
    else:
        workers = check_workers()
        report(workers)
        outcomes.append(workers)
        skipped = [check_canary() if workers.ok else Check("canary", False, "skipped: no worker answered")]
    for outcome in skipped:
        report(outcome)
        outcomes.append(outcome)
    return outcomes
