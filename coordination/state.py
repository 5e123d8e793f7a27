"""ThreadSafeState: versioned key/value state shared through Redis by any number of processes.

Every operation is one Lua script, so concurrent writers never lose an update and versions increase strictly.
Each change is logged (a capped Redis stream), which serves ``get_history`` and ``rollback``.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from config.settings import get_settings
from coordination import jsonutil
from coordination.errors import (
    InvalidInputError,
    StateKeyError,
    StateRollbackError,
    StateVersionError,
)
from coordination.ids import validate_id
from coordination.limits import MAX_CHANGED_BY_LENGTH, MAX_STATE_KEY_LENGTH
from coordination.models.state import StateChangeRecord, cleared_values
from coordination.store.connection import async_client, sync_client
from coordination.store.keys import Keys
from coordination.store.scripts import script

T = TypeVar("T")

_CONFLICT = -1
_NOTHING = 0
_ALL_KEYS = "__ALL__"


class ThreadSafeState(Generic[T]):
    """Versioned shared state in Redis, compatible with the seed's ``ThreadSafeState``.

    ``ThreadSafeState()`` is a new private state, like the seed's in-process object; its keys expire after
    ``COORD_PRIVATE_STATE_TTL_SECONDS`` without writes. ``ThreadSafeState(namespace="name")`` attaches to a shared
    state that every process using the same name sees. Components built on a state use its namespace.

    Differences from the seed (each fixes a measured weakness): a stored ``None`` is returned as ``None`` rather
    than the default; ``update({})`` changes nothing; snapshots are always fresh copies; ``rollback`` reaches
    version 0 and undoes ``clear``, and drops the undone records so version numbers stay unique.

    Args:
        initial_state: values to seed a new state with (ignored when the shared state already exists).
        max_history_size: change records kept (approximately, trimmed in blocks by Redis).
        enable_snapshots: kept for compatibility; snapshots are always available and never cached.
        namespace: the shared state to attach to; None creates a private one.
    """

    def __init__(
        self,
        initial_state: dict[str, T] | None = None,
        max_history_size: int = 1000,
        enable_snapshots: bool = True,
        *,
        namespace: str | None = None,
    ) -> None:
        if not isinstance(max_history_size, int) or max_history_size <= 0:
            raise InvalidInputError("max_history_size", f"must be a positive integer, got {max_history_size!r}")
        settings = get_settings()
        if namespace is None:
            self.namespace = f"private-{uuid.uuid4().hex}"
            self.ttl_ms = settings.private_state_ttl_seconds * 1000
        else:
            self.namespace = validate_id(namespace, "namespace")
            self.ttl_ms = 0
        self.store_keys = Keys(settings.namespace, self.namespace)
        self.max_history_size = max_history_size
        self.enable_snapshots = enable_snapshots
        self._value_limit = settings.max_state_value_bytes
        self._counters = dict.fromkeys(("get_count", "set_count", "snapshot_count", "cache_hits", "cache_misses"), 0)
        if initial_state:
            pairs = self._encode_pairs(initial_state, "initial_state")
            script("state_init")(
                sync_client(), [self.store_keys.state_data, self.store_keys.state_meta], [self.ttl_ms, *pairs]
            )

    # -- reads -----------------------------------------------------------------------------------------------

    def get(self, key: str, default: T | None = None) -> T | None:
        """Return the value of ``key`` (a fresh copy), or ``default`` when the key is absent."""
        self._counters["get_count"] += 1
        raw = sync_client().hget(self.store_keys.state_data, self._check_key(key))
        if raw is None:
            return default
        value: T = jsonutil.loads(raw)
        return value

    def get_required(self, key: str) -> T:
        """Return the value of ``key``.

        Raises:
            StateKeyError: the key is absent; the error lists the available keys.
        """
        self._counters["get_count"] += 1
        raw = sync_client().hget(self.store_keys.state_data, self._check_key(key))
        if raw is None:
            raise StateKeyError(key, sorted(self.keys_list()))
        value: T = jsonutil.loads(raw)
        return value

    def has(self, key: str) -> bool:
        """Tell whether ``key`` is present (a stored ``None`` counts as present)."""
        return bool(sync_client().hexists(self.store_keys.state_data, self._check_key(key)))

    def keys_list(self) -> list[str]:
        """Return every key of the state."""
        return list(sync_client().hkeys(self.store_keys.state_data))

    @property
    def keys(self) -> _KeyListing:
        """Call it for every key of the state (seed API: ``state.keys()``).

        Attribute access is forwarded to :attr:`store_keys` for code written before the rename.
        """
        return _KeyListing(self)

    def snapshot(self) -> dict[str, T]:
        """Return a copy of the whole state, consistent with one version; changing it changes nothing else."""
        self._counters["snapshot_count"] += 1
        self._counters["cache_misses"] += 1
        raw = sync_client().hgetall(self.store_keys.state_data)
        return {key: jsonutil.loads(value) for key, value in raw.items()}

    def snapshot_with_version(self) -> tuple[int, dict[str, T]]:
        """Return ``(version, snapshot)`` read atomically together."""
        pipe = sync_client().pipeline(transaction=True)
        pipe.hget(self.store_keys.state_meta, "version")
        pipe.hgetall(self.store_keys.state_data)
        version, raw = pipe.execute()
        return int(version or 0), {key: jsonutil.loads(value) for key, value in raw.items()}

    def get_version(self) -> int:
        """Return the current version (0 for a new state)."""
        return int(sync_client().hget(self.store_keys.state_meta, "version") or 0)

    def get_history(self, key: str | None = None, limit: int | None = None) -> list[StateChangeRecord]:
        """Return change records, most recent first, optionally only those of ``key``, at most ``limit``.

        As in the seed, the history is the last ``max_history_size`` records (filtered, then limited): the change
        log may keep a few more (Redis trims it in blocks), and they are never returned.
        """
        if limit is not None and limit <= 0:
            return []
        client = sync_client()
        count = self.max_history_size if key is not None or limit is None else min(limit, self.max_history_size)
        entries = client.xrevrange(self.store_keys.state_log, "+", "-", count=count)
        records: list[StateChangeRecord] = []
        for _entry_id, fields in entries:
            if key is not None and fields.get("k") != key:
                continue
            records.append(_record_from_fields(fields))
            if limit is not None and len(records) >= limit:
                break
        return records

    def get_metrics(self) -> dict[str, int]:
        """Return this object's operation counters (seed keys; snapshots are never cached, so no hits)."""
        return dict(self._counters)

    # -- writes ----------------------------------------------------------------------------------------------

    def set(self, key: str, value: T, changed_by: str | None = None, *, expected_version: int | None = None) -> None:
        """Set ``key`` to ``value`` and bump the version.

        Raises:
            StateVersionError: ``expected_version`` is given and differs from the current version.
            NotSerializableError, PayloadTooLargeError: the value cannot be stored; nothing was written.
        """
        pairs = self._encode_pairs({key: value}, "value")
        self._write("set", pairs, changed_by, expected_version)
        self._counters["set_count"] += 1

    def update(
        self, updates: dict[str, T], changed_by: str | None = None, *, expected_version: int | None = None
    ) -> None:
        """Set several keys in one version bump (one change record per key). ``update({})`` changes nothing."""
        if not isinstance(updates, dict):
            raise InvalidInputError("updates", f"must be a dict, got {type(updates).__name__}")
        if not updates:
            if expected_version is not None and expected_version != self.get_version():
                raise StateVersionError("Version conflict", self.get_version(), expected_version)
            return
        pairs = self._encode_pairs(updates, "updates")
        self._write("update", pairs, changed_by, expected_version)
        self._counters["set_count"] += len(updates)

    async def aset(
        self, key: str, value: T, changed_by: str | None = None, *, expected_version: int | None = None
    ) -> None:
        """Asynchronous :meth:`set`, for code running in an event loop."""
        pairs = self._encode_pairs({key: value}, "value")
        script_args = self._write_args("set", pairs, changed_by, expected_version)
        status, version = await script("state_write").run_async(async_client(), self._state_keys(), script_args)
        self._check_status(int(status), int(version), expected_version)
        self._counters["set_count"] += 1

    def set_call(self, key: str, value: T, changed_by: str | None = None) -> tuple[list[str], list[Any]]:
        """Return the keys and arguments of the script that :meth:`set` runs.

        For combining it with other scripts in one atomic round trip (``coordination.store.scripts.run_atomically``).
        Validates like :meth:`set`.
        """
        pairs = self._encode_pairs({key: value}, "value")
        return self._state_keys(), self._write_args("set", pairs, changed_by, None)

    def delete(self, key: str, changed_by: str | None = None, *, expected_version: int | None = None) -> bool:
        """Delete ``key``; return False (and change nothing) when it is absent."""
        status = self._write("delete", [self._check_key(key)], changed_by, expected_version)
        return status != _NOTHING

    def clear(self, changed_by: str | None = None) -> None:
        """Remove every key in one version bump; the change record keeps the old values, so it can be undone."""
        self._write("clear", [], changed_by, None)

    def rollback(self, target_version: int) -> None:
        """Return to the state as it was at ``target_version``.

        Works for any version still covered by the change log, including 0 and across ``clear``. The undone
        records are removed from the log, and the version becomes ``target_version``.

        Raises:
            StateVersionError: ``target_version`` is negative or not below the current version.
            StateRollbackError: the change log no longer reaches back to ``target_version``.
        """
        if not isinstance(target_version, int) or isinstance(target_version, bool):
            raise InvalidInputError("target_version", f"must be an integer, got {target_version!r}")
        status, current, oldest = script("state_rollback")(
            sync_client(), self._state_keys(), [target_version, self.ttl_ms]
        )
        if status == -1:
            raise StateVersionError(
                "Invalid rollback target: must be between 0 and the current version minus 1",
                int(current),
                target_version,
            )
        if status == -2:
            shown = None if int(oldest) < 0 else int(oldest) - 1
            raise StateRollbackError("Rollback target is older than the retained history", target_version, shown)

    def clear_history(self) -> None:
        """Drop every change record (rollback is then impossible until new changes are made)."""
        sync_client().delete(self.store_keys.state_log)

    # -- dunder ----------------------------------------------------------------------------------------------

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(key) and self.has(key)

    def __len__(self) -> int:
        return int(sync_client().hlen(self.store_keys.state_data))

    def __repr__(self) -> str:
        client = sync_client()
        pipe = client.pipeline(transaction=False)
        pipe.hget(self.store_keys.state_meta, "version")
        pipe.hlen(self.store_keys.state_data)
        pipe.xlen(self.store_keys.state_log)
        version, size, history = pipe.execute()
        return f"ThreadSafeState(version={int(version or 0)}, keys={size}, history_size={history})"

    # -- internals -------------------------------------------------------------------------------------------

    def _state_keys(self) -> list[str]:
        return [self.store_keys.state_data, self.store_keys.state_meta, self.store_keys.state_log]

    def _check_key(self, key: object) -> str:
        if not isinstance(key, str) or not key:
            raise InvalidInputError("key", f"must be a non-empty string, got {key!r:.60}")
        if len(key) > MAX_STATE_KEY_LENGTH:
            raise InvalidInputError("key", f"must be at most {MAX_STATE_KEY_LENGTH} characters, got {len(key)}")
        if jsonutil.has_lone_surrogate(key):
            raise InvalidInputError("key", f"{key!r:.60} holds a lone surrogate; a key must be valid Unicode")
        return key

    def _encode_pairs(self, values: dict[str, Any], field: str) -> list[str]:
        pairs: list[str] = []
        for key, value in values.items():
            self._check_key(key)
            pairs.append(key)
            pairs.append(jsonutil.dumps(value, f"{field}[{key!r}]", self._value_limit))
        return pairs

    def _write_args(self, op: str, args: list[str], changed_by: str | None, expected_version: int | None) -> list[Any]:
        if expected_version is not None and (
            not isinstance(expected_version, int) or isinstance(expected_version, bool) or expected_version < 0
        ):
            raise InvalidInputError("expected_version", f"must be a non-negative integer, got {expected_version!r}")
        if changed_by is not None:
            if not isinstance(changed_by, str):
                raise InvalidInputError("changed_by", f"must be a string or None, got {type(changed_by).__name__}")
            if len(changed_by) > MAX_CHANGED_BY_LENGTH:
                raise InvalidInputError(
                    "changed_by", f"must be at most {MAX_CHANGED_BY_LENGTH} characters, got {len(changed_by)}"
                )
            if not changed_by.isprintable():  # it is shown in history listings and terminals
                raise InvalidInputError(
                    "changed_by", f"must be printable text (no control characters), got {changed_by!r:.60}"
                )
        return [
            op,
            "" if expected_version is None else expected_version,
            changed_by or "",
            int(time.time() * 1000),
            self.max_history_size,
            self.ttl_ms,
            *args,
        ]

    def _write(self, op: str, args: list[str], changed_by: str | None, expected_version: int | None) -> int:
        script_args = self._write_args(op, args, changed_by, expected_version)
        status, version = script("state_write")(sync_client(), self._state_keys(), script_args)
        return self._check_status(int(status), int(version), expected_version)

    def _check_status(self, status: int, version: int, expected_version: int | None) -> int:
        if status == _CONFLICT:
            raise StateVersionError("Version conflict", version, int(expected_version or 0))
        return status


class _KeyListing:
    """``state.keys()`` lists the state's keys; ``state.keys.<name>`` reads ``state.store_keys.<name>``."""

    def __init__(self, state: ThreadSafeState[Any]) -> None:
        self._state = state

    def __call__(self) -> list[str]:
        return self._state.keys_list()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state.store_keys, name)


def _record_from_fields(fields: dict[str, str]) -> StateChangeRecord:
    operation = fields["op"]
    if operation == "clear":
        old: Any = {key: jsonutil.loads(raw) for key, raw in cleared_values(fields).items()}
    else:
        old = jsonutil.loads(fields["old"]) if "old" in fields else None
    new = jsonutil.loads(fields["new"]) if "new" in fields else None
    return StateChangeRecord.model_construct(
        timestamp=datetime.fromtimestamp(int(fields["ts"]) / 1000, UTC),
        version=int(fields["v"]),
        key=fields["k"],
        operation=operation,
        old_value=old,
        new_value=new,
        changed_by=fields.get("by") or None,
    )
