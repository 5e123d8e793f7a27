"""Finding coordinations: Redis (running and recently finished) and the archive together, newest first, paged.

Redis holds every running coordination (the ``active`` set) and the finished ones until they are archived and
their retention is over (the ``finished`` sorted set); each has a ``meta`` hash. The archive holds everything
ever archived. A coordination in both is shown once, as Redis has it (Redis is newer). Each source is asked for
one page of its own newest matches; the newest of their union are the page (whatever is in the page's top
``limit`` of the union is in the top ``limit`` of its own source).

One source may be missing: without PostgreSQL (down, not migrated) the list is Redis's alone, and without Redis
the archive's alone; the page then carries a warning saying so. Paging uses an opaque cursor naming the last
coordination shown, so pages never repeat or skip a coordination that was created meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from redis.exceptions import RedisError

from config.settings import get_settings
from coordination.archive.listing import archived_coordinations
from coordination.errors import ArchiveUnavailableError, InvalidInputError, ServiceUnavailableError
from coordination.models.statuses import COORDINATION_STATUSES
from coordination.store.connection import sync_client
from coordination.store.keys import Keys, archive_namespace

#: Largest page a caller may ask for.
MAX_LIMIT = 1000
#: Metas read from Redis per round trip.
_BATCH = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CoordinationSummary:
    """One line of a list of coordinations.

    Attributes:
        coordination_id: the id.
        workflow: the workflow's name.
        status: running, completed, failed, cancelled (or lost).
        created_at: when it was submitted (UTC).
        finished_at: when it ended (None while running).
        error: why it failed or was cancelled.
        failures: agents that failed or timed out.
        source: ``redis`` (live, or finished and not expired yet) or ``archive`` (expired from Redis).
    """

    coordination_id: str
    workflow: str
    status: str
    created_at: datetime | None
    finished_at: datetime | None
    error: str | None
    failures: int
    source: Literal["redis", "archive"]

    @property
    def duration_s(self) -> float | None:
        """Seconds from submission to the end (None while running)."""
        if self.created_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.created_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (times in ISO 8601)."""
        return {
            "coordination_id": self.coordination_id,
            "workflow": self.workflow,
            "status": self.status,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "duration_s": self.duration_s,
            "error": self.error,
            "failures": self.failures,
            "source": self.source,
        }


@dataclass(frozen=True)
class CoordinationPage:
    """One page of :func:`list_coordinations`.

    Attributes:
        items: the coordinations, newest first.
        next_cursor: pass it as ``cursor`` for the next page; None on the last page.
        warnings: a source that could not be read (the list is then the other source's alone).
    """

    items: list[CoordinationSummary]
    next_cursor: str | None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (``coord ls --json``)."""
        return {
            "coordinations": [item.as_dict() for item in self.items],
            "next_cursor": self.next_cursor,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class _Query:
    statuses: frozenset[str]
    workflow: str | None
    since: datetime | None
    until: datetime | None
    after: tuple[datetime, str] | None
    limit: int

    def matches(self, item: CoordinationSummary) -> bool:
        created = item.created_at or _EPOCH
        return (
            (not self.statuses or item.status in self.statuses)
            and (self.workflow is None or item.workflow == self.workflow)
            and (self.since is None or created >= self.since)
            and (self.until is None or created < self.until)
            and (self.after is None or _order_key(item) < self.after)
        )


def list_coordinations(
    status: str | Iterable[str] | None = None,
    workflow: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> CoordinationPage:
    """List the pipeline's coordinations, newest first, from Redis and the archive together.

    Args:
        status: keep only this status, or these statuses (running, completed, failed, cancelled, lost).
        workflow: keep only coordinations of this workflow.
        since: submitted at or after this moment (a naive datetime is taken as UTC).
        until: submitted before this moment.
        limit: at most this many (1 to 1000).
        cursor: ``next_cursor`` of the previous page.

    Returns:
        The page; its ``warnings`` say when Redis or the archive could not be read.

    Raises:
        InvalidInputError: a filter is malformed (the message names it).
        ServiceUnavailableError: neither Redis nor the archive could be read.
    """
    query = _query(status, workflow, since, until, limit, cursor)
    settings = get_settings()
    warnings: list[str] = []
    live: list[CoordinationSummary] = []
    known: set[str] = set()
    redis_error: str | None = None
    try:
        live, known = _redis_coordinations(Keys(settings.namespace, settings.pipeline_namespace), query)
    except (RedisError, OSError) as error:  # (StoreUnavailableError is an OSError)
        redis_error = _first_line(error)
        warnings.append(f"Redis not read ({redis_error}): showing the archive only")
    archived: list[CoordinationSummary] = []
    try:
        archived = _archive_coordinations(
            archive_namespace(settings.namespace, settings.pipeline_namespace), query, known
        )
    except ArchiveUnavailableError as error:
        if redis_error is not None:
            raise ServiceUnavailableError(
                f"neither Redis ({redis_error}) nor the archive ({error}) could be read"
            ) from error
        warnings.append(f"archive not read ({error}): showing Redis only (running and recently finished)")
    merged = sorted([*live, *archived], key=_order_key, reverse=True)
    page = merged[: query.limit]
    next_cursor = _encode_cursor(page[-1]) if len(merged) > query.limit else None
    return CoordinationPage(page, next_cursor, warnings)


# -- the query ---------------------------------------------------------------------------------------------------


def _query(
    status: str | Iterable[str] | None,
    workflow: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> _Query:
    statuses = frozenset([status] if isinstance(status, str) else (status or ()))
    unknown = sorted(statuses - set(COORDINATION_STATUSES))
    if unknown:
        raise InvalidInputError("status", f"unknown status {unknown[0]!r}; one of {', '.join(COORDINATION_STATUSES)}")
    if workflow is not None and (not isinstance(workflow, str) or not workflow):
        raise InvalidInputError("workflow", f"must be a workflow name, got {workflow!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    since, until = _aware(since, "since"), _aware(until, "until")
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("until", f"must be later than since ({since.isoformat()}), got {until.isoformat()}")
    return _Query(statuses, workflow, since, until, _decode_cursor(cursor), limit)


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        raise InvalidInputError(name, f"must be a datetime, got {type(moment).__name__}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _order_key(item: CoordinationSummary) -> tuple[datetime, str]:
    return (item.created_at or _EPOCH, item.coordination_id)


def _encode_cursor(item: CoordinationSummary) -> str:
    moment, coordination_id = _order_key(item)
    raw = json.dumps([round(moment.timestamp() * 1_000_000), coordination_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    problem = "is not a cursor given by a previous page (next_cursor)"
    if not isinstance(cursor, str) or len(cursor) > 400:
        raise InvalidInputError("cursor", problem)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        micros, coordination_id = decoded
        if not isinstance(micros, int) or not isinstance(coordination_id, str):
            raise ValueError(problem)
        moment = datetime.fromtimestamp(micros / 1_000_000, UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise InvalidInputError("cursor", problem) from None
    return moment, coordination_id


# -- the sources -------------------------------------------------------------------------------------------------


def _redis_coordinations(keys: Keys, query: _Query) -> tuple[list[CoordinationSummary], set[str]]:
    """Matching coordinations in Redis, and the ids of every pipeline coordination Redis has (matching or not)."""
    client = sync_client()
    with client.pipeline(transaction=False) as pipe:
        pipe.smembers(keys.active)
        pipe.zrange(keys.finished, 0, -1)
        active, finished = pipe.execute()
    ids = sorted(set(active) | set(finished))
    found: list[CoordinationSummary] = []
    known: set[str] = set()
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        with client.pipeline(transaction=False) as pipe:
            for coordination_id in batch:
                pipe.hgetall(keys.coordination(coordination_id).meta)
            metas = pipe.execute()
        for coordination_id, meta in zip(batch, metas, strict=True):
            if not meta:  # expired between the two reads
                continue
            known.add(coordination_id)
            item = CoordinationSummary(
                coordination_id=coordination_id,
                workflow=meta.get("name", ""),
                status=meta.get("status", "unknown"),
                created_at=_from_ms(meta.get("created_ms")),
                finished_at=_from_ms(meta.get("finished_ms")),
                error=meta.get("error") or None,
                failures=int(meta.get("failures") or 0),
                source="redis",
            )
            if query.matches(item):
                found.append(item)
    found.sort(key=_order_key, reverse=True)
    return found[: query.limit + 1], known


def _archive_coordinations(namespace: str, query: _Query, known: set[str]) -> list[CoordinationSummary]:
    """Matching archived coordinations that Redis no longer has, at most ``limit + 1``."""
    found: list[CoordinationSummary] = []
    before = query.after
    wanted = query.limit + 1
    while len(found) < wanted:
        # Rows Redis also has are skipped (Redis is newer), so ask for enough to fill the page past them.
        asked = wanted - len(found) + min(len(known), MAX_LIMIT)
        batch = archived_coordinations(
            namespace,
            statuses=query.statuses,
            workflow=query.workflow,
            since=query.since,
            until=query.until,
            before=before,
            limit=asked,
        )
        for row in batch:
            if row.coordination_id in known:
                continue
            found.append(
                CoordinationSummary(
                    coordination_id=row.coordination_id,
                    workflow=row.workflow,
                    status=row.status,
                    created_at=row.created_at,
                    finished_at=row.finished_at,
                    error=row.error,
                    failures=row.failures,
                    source="archive",
                )
            )
        if len(batch) < asked:
            break
        last = batch[-1]
        before = (last.created_at or _EPOCH, last.coordination_id)
    return found[:wanted]


def _from_ms(value: str | None) -> datetime | None:
    return None if not value else datetime.fromtimestamp(int(float(value)) / 1000, UTC)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
