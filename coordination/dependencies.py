"""DependencyResolver: dependencies registered in Redis and resolved by events, from any process.

Marking a resource, scoring a gate or signalling ``agent_completed`` runs one Lua script that settles every
dependency waiting on it and announces it on the namespace's channel; waiters in any process wake at once.
``check_interval_ms`` only paces re-checks of conditions that can change without an event (a state key written
directly). Time-outs are measured from registration and recorded as TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from coordination import jsonutil
from coordination.dependency_events import listener_for
from coordination.errors import DependencyResolutionError, DependencyTimeoutError, InvalidInputError
from coordination.ids import validate_id
from coordination.limits import MAX_INTERVAL_MS
from coordination.models.dependencies import (
    Dependency,
    DependencyResolutionResult,
    DependencyStatus,
    DependencyType,
)
from coordination.signals import SettledDependency, parse_settled
from coordination.store.connection import (
    async_client,
    cancellation_requests,
    raise_lost_cancellation,
    sync_client,
)
from coordination.store.keys import gate_field, resource_field
from coordination.store.scripts import run_atomically, run_atomically_async, script

if TYPE_CHECKING:
    from coordination.metrics.collector import MetricsCollector
    from coordination.signals import SignalCoordinator
    from coordination.state import ThreadSafeState

logger = logging.getLogger(__name__)

DEFAULT_CHECK_INTERVAL_MS = {
    DependencyType.AGENT_COMPLETION: 0,  # completion is always an event; nothing to re-check
    DependencyType.RESOURCE_AVAILABILITY: 100,
    DependencyType.QUALITY_GATE: 500,
}
DEFAULT_GATE_THRESHOLD = 0.8


def resource_state_key(resource_id: str) -> str:
    """State key holding a resource's availability (seed name)."""
    return resource_field(resource_id)


def gate_state_key(gate_id: str) -> str:
    """State key holding a quality gate's score (seed name)."""
    return gate_field(gate_id)


class DependencyResolver:
    """Resolves agent-completion, resource and quality-gate dependencies (seed-compatible API).

    Args:
        signal_coordinator: the coordinator whose ``agent_completed`` signals complete agents.
        metrics_collector: optional; receives ``dependency_resolution_time_ms``.
        state: the state holding resources and gates; defaults to the signal coordinator's state, so both
            share one namespace.
        max_concurrent_resolutions: Redis round trips in flight at once. Waiting holds no slot, so a satisfied
            dependency never waits behind pending ones.
    """

    def __init__(
        self,
        signal_coordinator: SignalCoordinator,
        metrics_collector: MetricsCollector | None = None,
        state: ThreadSafeState[Any] | None = None,
        max_concurrent_resolutions: int = 10,
    ) -> None:
        if not isinstance(max_concurrent_resolutions, int) or max_concurrent_resolutions <= 0:
            raise InvalidInputError(
                "max_concurrent_resolutions",
                f"must be a positive integer, got {max_concurrent_resolutions!r}",
            )
        self.signal_coordinator = signal_coordinator
        self.metrics = metrics_collector
        self.state = state if state is not None else signal_coordinator.state
        self.max_concurrent_resolutions = max_concurrent_resolutions
        self._keys = self.state.store_keys
        self._slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    # -- resolving -------------------------------------------------------------------------------------------

    async def resolve_dependency(
        self, coordination_id: str, dependency: Dependency, *, owner: str | None = None
    ) -> DependencyResolutionResult:
        """Wait until ``dependency`` is satisfied and return the result.

        Args:
            coordination_id: the coordination the dependency belongs to.
            dependency: what to wait for; registering the same id twice waits on the same record.
            owner: the agent that waits (used by the pipeline to know when an agent becomes ready).

        Raises:
            DependencyTimeoutError: not satisfied within ``dependency.timeout`` seconds; recorded as TIMEOUT.
            InvalidInputError: bad ids or metadata; nothing was written.
        """
        started = time.perf_counter()
        args = self._registration_args(coordination_id, dependency, owner)
        async with self._slot():
            status, deadline_ms, *_ready = await script("deps_register").run_async(async_client(), [], [*args, "0"])
        dependency.status = DependencyStatus.IN_PROGRESS
        if status == "pending":
            status = await self._wait(coordination_id, dependency, float(deadline_ms))
        return self._finish(coordination_id, dependency, status, started)

    async def _wait(self, coordination_id: str, dependency: Dependency, deadline_ms: float) -> str:
        key = f"{coordination_id}/{dependency.dependency_id}"
        cancelled_before = cancellation_requests()
        listener = await listener_for(self._keys.dependency_events)
        interval_ms = self._check_interval_ms(dependency)
        while True:
            future = listener.expect(key) if listener is not None else None
            try:
                # Check after subscribing: a settlement that happened before the subscription is seen here,
                # one that happens after it completes the future. At the deadline this check times it out.
                status = await self._check(coordination_id, dependency.dependency_id)
                raise_lost_cancellation(cancelled_before)
                if status != "pending":
                    return status
                remaining = max(0.0, deadline_ms / 1000 - time.time())
                pause = remaining if interval_ms <= 0 else min(remaining, interval_ms / 1000)
                if future is None:
                    await asyncio.sleep(min(pause, 0.05))  # no event channel: short re-checks instead
                    continue
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(future), pause)
            finally:
                if future is not None and listener is not None:
                    listener.forget(key, future)
                    future.cancel()

    async def _check(self, coordination_id: str, dependency_id: str) -> str:
        async with self._slot():
            status, *_rest = await script("deps_check").run_async(
                async_client(),
                [],
                [
                    self._keys.namespace_prefix,
                    self._keys.coordination_prefix,
                    _now_ms(),
                    coordination_id,
                    dependency_id,
                    "check",
                    "waiter",
                ],
            )
        return str(status)

    def _finish(
        self, coordination_id: str, dependency: Dependency, status: str, started: float
    ) -> DependencyResolutionResult:
        duration = (time.perf_counter() - started) * 1000
        if status == DependencyStatus.TIMEOUT.value:
            dependency.mark_timeout()
            raise DependencyTimeoutError(coordination_id, dependency.dependency_id, dependency.timeout)
        if status == DependencyStatus.RESOLVED.value:
            dependency.mark_resolved()
            return DependencyResolutionResult(
                coordination_id,
                dependency.dependency_id,
                True,
                DependencyStatus.RESOLVED,
                duration,
                attempts=dependency.retry_count + 1,
            )
        record = self._record(coordination_id, dependency.dependency_id)
        message = record.get("error") or f"dependency ended as {status}"
        dependency.mark_failed(message)
        return DependencyResolutionResult(
            coordination_id,
            dependency.dependency_id,
            False,
            DependencyStatus.FAILED,
            duration,
            attempts=dependency.retry_count + 1,
            error_message=message,
        )

    async def resolve_agent_dependencies(self, coordination_id: str, agent_context: dict[str, Any]) -> bool:
        """Resolve every dependency listed in ``agent_context["dependencies"]``, concurrently.

        Returns True when all are satisfied (and emits ``dependency_resolved``), False when one times out or
        fails (recorded as TIMEOUT / FAILED).

        Raises:
            DependencyResolutionError: an unexpected error (bad specs raise InvalidInputError before anything
                is written).
        """
        specs = agent_context.get("dependencies") or []
        if not specs:
            return True
        validate_id(coordination_id, "coordination_id")
        owner = agent_context.get("agent_id")
        if owner is not None:
            validate_id(owner, "agent_context.agent_id")
        dependencies = [self._parse(index, spec) for index, spec in enumerate(specs)]
        # Check every registration before registering any: a bad id in a later spec must leave nothing behind
        # (and must not leave the earlier dependencies waiting out their time-outs).
        for index, dependency in enumerate(dependencies):
            try:
                self._registration_args(coordination_id, dependency, owner)
            except InvalidInputError as error:
                raise type(error)(f"dependencies[{index}].{error.field}", error.problem) from error
        started = time.perf_counter()
        try:
            results = await asyncio.gather(
                *(self.resolve_dependency(coordination_id, dep, owner=owner) for dep in dependencies),
                return_exceptions=True,
            )
        except Exception as error:
            self._record_timing(started, {"coordination_id": coordination_id, "success": "false"})
            raise DependencyResolutionError(coordination_id, "all", str(error)) from error
        for result in results:
            if isinstance(result, DependencyTimeoutError):
                return False
            if isinstance(result, BaseException):
                self._record_timing(started, {"coordination_id": coordination_id, "success": "false"})
                raise DependencyResolutionError(coordination_id, "all", str(result)) from result
            if not result.success:
                return False
        await self.signal_coordinator.signal_event(
            coordination_id,
            "dependency_resolved",
            {
                "resolver_agent": owner or "unknown",
                "dependency_count": len(dependencies),
                "timestamp": datetime.now(UTC).isoformat(),
            },
        )
        self._record_timing(started, {"coordination_id": coordination_id, "dependency_count": str(len(dependencies))})
        return True

    def register_sync(
        self, coordination_id: str, dependency: Dependency, *, owner: str | None = None, precounted: bool = False
    ) -> SettledDependency | None:
        """Register without waiting (for Celery workers and beat); return the settlement if immediate.

        ``precounted`` tells that the caller already counted this dependency in the owner's pending count (the
        pipeline counts all of an agent's dependencies first, so it cannot look ready half-way).
        """
        args = [*self._registration_args(coordination_id, dependency, owner), "1" if precounted else "0"]
        status, _deadline, ready, *queued = script("deps_register")(sync_client(), [], args)
        if status == "pending":
            return None
        return SettledDependency(coordination_id, dependency.dependency_id, str(status), ready or None, bool(queued))

    def registration_fields(self, coordination_id: str, dependency: Dependency, owner: str | None) -> list[str]:
        """Validate a registration and return its stored fields, for scripts that register as part of a larger step.

        The fields, in order: id, type, target, owner, threshold, require_success, timeout_ms, check_ms, metadata.

        Raises:
            InvalidInputError: as :meth:`register_sync` would; nothing is written.
        """
        return [str(value) for value in self._registration_args(coordination_id, dependency, owner)[4:13]]

    # -- events ----------------------------------------------------------------------------------------------

    async def mark_resource_available(self, resource_id: str, available: bool = True) -> None:
        """Set a resource's availability; dependencies waiting on it resolve at once, in every process."""
        await self.mark_resource_available_detailed(resource_id, available)

    async def mark_resource_available_detailed(
        self, resource_id: str, available: bool = True
    ) -> list[SettledDependency]:
        """Like :meth:`mark_resource_available`, returning the dependencies it settled."""
        validate_id(resource_id, "resource_id")
        if not isinstance(available, bool):
            raise InvalidInputError("available", f"must be a bool, got {type(available).__name__}")
        return await self._set_and_wake_async(resource_state_key(resource_id), available, "resource", resource_id)

    async def update_quality_gate_score(self, gate_id: str, score: float) -> None:
        """Set a quality gate's score (0..1); dependencies whose threshold it meets resolve at once."""
        await self.update_quality_gate_score_detailed(gate_id, score)

    async def update_quality_gate_score_detailed(self, gate_id: str, score: float) -> list[SettledDependency]:
        """Like :meth:`update_quality_gate_score`, returning the dependencies it settled."""
        validate_id(gate_id, "gate_id")
        value = _checked_score(score, "score")
        return await self._set_and_wake_async(gate_state_key(gate_id), value, "gate", gate_id)

    def mark_resource_available_sync(self, resource_id: str, available: bool = True) -> list[SettledDependency]:
        """Blocking :meth:`mark_resource_available_detailed` (CLI, workers)."""
        validate_id(resource_id, "resource_id")
        if not isinstance(available, bool):
            raise InvalidInputError("available", f"must be a bool, got {type(available).__name__}")
        return self._set_and_wake_sync(resource_state_key(resource_id), available, "resource", resource_id)

    def update_quality_gate_score_sync(self, gate_id: str, score: float) -> list[SettledDependency]:
        """Blocking :meth:`update_quality_gate_score_detailed` (CLI, workers)."""
        validate_id(gate_id, "gate_id")
        value = _checked_score(score, "score")
        return self._set_and_wake_sync(gate_state_key(gate_id), value, "gate", gate_id)

    # The state write and the wake-up run in one MULTI/EXEC: one round trip, and the waiters are evaluated
    # against exactly the value just written.
    async def _set_and_wake_async(self, key: str, value: Any, kind: str, target: str) -> list[SettledDependency]:
        keys, args = self.state.set_call(key, value, changed_by="dependency_resolver")
        _written, woken = await run_atomically_async(
            async_client(),
            [(script("state_write"), keys, args), (script("deps_wake"), [], self._wake_args(kind, target))],
        )
        return _parse_woken(woken)

    def _set_and_wake_sync(self, key: str, value: Any, kind: str, target: str) -> list[SettledDependency]:
        keys, args = self.state.set_call(key, value, changed_by="dependency_resolver")
        _written, woken = run_atomically(
            sync_client(),
            [(script("state_write"), keys, args), (script("deps_wake"), [], self._wake_args(kind, target))],
        )
        return _parse_woken(woken)

    def _wake_args(self, kind: str, target: str) -> list[Any]:
        return [
            self._keys.namespace_prefix,
            self._keys.coordination_prefix,
            _now_ms(),
            kind,
            target,
            f"{kind}:{target}",
        ]

    # -- queries ---------------------------------------------------------------------------------------------

    def get_dependency_status(self, coordination_id: str, dependency_id: str) -> dict[str, Any]:
        """Return what is known of a dependency, from any process (seed shape)."""
        validate_id(dependency_id, "dependency_id")
        record = self._record(coordination_id, dependency_id)
        if record.get("status") == DependencyStatus.PENDING.value and float(record["deadline_ms"]) <= _now_ms():
            # Past its deadline but not settled yet (its waiter is gone, or beat has not polled yet): it reads as
            # timed out. Readers change nothing; whoever settles it (a waiter, beat) also routes the time-out.
            record = {
                **record,
                "status": DependencyStatus.TIMEOUT.value,
                "resolved_ms": record["deadline_ms"],
                "error": f"Dependency '{dependency_id}' timed out (not yet settled)",
            }
        if not record:
            return {
                "dependency_id": dependency_id,
                "resolved": False,
                "status": "unknown",
                "error_message": "Dependency not found",
            }
        resolved_ms = record.get("resolved_ms")
        status = record["status"]
        return {
            "dependency_id": dependency_id,
            "resolved": status == DependencyStatus.RESOLVED.value,
            "status": status,
            "dependency_type": record["type"],
            "target": record["target"],
            "resolved_at": (
                datetime.fromtimestamp(float(resolved_ms) / 1000, UTC).isoformat()
                if resolved_ms and status != DependencyStatus.PENDING.value
                else None
            ),
            "error_message": record.get("error") or None,
            "owner": record.get("owner") or None,
            "registered_at": datetime.fromtimestamp(float(record["registered_ms"]) / 1000, UTC).isoformat(),
            "wait_ms": (
                float(resolved_ms) - float(record["registered_ms"])
                if resolved_ms and status != DependencyStatus.PENDING.value
                else None
            ),
        }

    def get_pending_dependencies_count(self, coordination_id: str) -> int:
        """Count the coordination's dependencies still pending (resolved, failed and timed-out ones are not)."""
        statuses = self._statuses(coordination_id)
        return sum(1 for status in statuses.values() if status == DependencyStatus.PENDING.value)

    def list_dependencies(self, coordination_id: str) -> dict[str, str]:
        """Return every dependency id of the coordination with its status."""
        return self._statuses(coordination_id)

    def clear_coordination_dependencies(self, coordination_id: str) -> None:
        """Forget a coordination's dependencies: records, waiter entries and due checks."""
        ckeys = self._keys.coordination(coordination_id)
        client = sync_client()
        ids = list(client.smembers(ckeys.dependencies))
        pipe = client.pipeline(transaction=False)
        for dep_id in ids:
            pipe.hmget(ckeys.dependency(dep_id), "type", "target")
        records = pipe.execute() if ids else []
        pipe = client.pipeline(transaction=True)
        for dep_id, (dtype, target) in zip(ids, records, strict=True):
            member = f"{coordination_id}/{dep_id}"
            pipe.zrem(self._keys.due, member)
            if dtype == DependencyType.AGENT_COMPLETION.value:
                pipe.srem(ckeys.agent_waiters(target), dep_id)
            elif dtype == DependencyType.RESOURCE_AVAILABILITY.value:
                pipe.srem(self._keys.resource_waiters(target), member)
            elif dtype == DependencyType.QUALITY_GATE.value:
                pipe.srem(self._keys.gate_waiters(target), member)
            pipe.delete(ckeys.dependency(dep_id))
        pipe.delete(ckeys.dependencies, ckeys.agent_pending)
        pipe.execute()

    def __repr__(self) -> str:
        sessions = sync_client().scard(self._keys.coordinations)
        return f"DependencyResolver(coordination_sessions={sessions}, state_version={self.state.get_version()})"

    # -- internals -------------------------------------------------------------------------------------------

    def _slot(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slot = self._slots.get(loop)
        if slot is None:
            slot = asyncio.Semaphore(self.max_concurrent_resolutions)
            self._slots[loop] = slot
        return slot

    def _record(self, coordination_id: str, dependency_id: str) -> dict[str, str]:
        key = self._keys.coordination(coordination_id).dependency(dependency_id)
        return dict(sync_client().hgetall(key))

    def _statuses(self, coordination_id: str) -> dict[str, str]:
        ckeys = self._keys.coordination(coordination_id)
        client = sync_client()
        ids = sorted(client.smembers(ckeys.dependencies))
        if not ids:
            return {}
        pipe = client.pipeline(transaction=False)
        for dep_id in ids:
            pipe.hmget(ckeys.dependency(dep_id), "status", "deadline_ms")
        statuses: dict[str, str] = {}
        now = _now_ms()
        for dep_id, (status, deadline) in zip(ids, pipe.execute(), strict=True):
            if status == DependencyStatus.PENDING.value and deadline and float(deadline) <= now:
                status = DependencyStatus.TIMEOUT.value  # overdue: reads as timed out (see get_dependency_status)
            if status:
                statuses[dep_id] = status
        return statuses

    def _check_interval_ms(self, dependency: Dependency) -> int:
        value = dependency.metadata.get("check_interval_ms", DEFAULT_CHECK_INTERVAL_MS[dependency.dependency_type])
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_INTERVAL_MS:
            raise InvalidInputError(
                "metadata.check_interval_ms", f"must be a number from 0 to {MAX_INTERVAL_MS} (one day), got {value!r}"
            )
        return int(value)

    def _registration_args(self, coordination_id: str, dependency: Dependency, owner: str | None) -> list[Any]:
        validate_id(coordination_id, "coordination_id")
        validate_id(dependency.dependency_id, "dependency_id")
        validate_id(dependency.target, "target")
        if owner is not None:
            validate_id(owner, "owner")
        metadata = dependency.metadata
        target = dependency.target
        if dependency.dependency_type is DependencyType.AGENT_COMPLETION and "agent_id" in metadata:
            target = validate_id(metadata["agent_id"], "metadata.agent_id")
        threshold = 0.0
        if dependency.dependency_type is DependencyType.QUALITY_GATE:
            threshold = _checked_score(metadata.get("threshold", DEFAULT_GATE_THRESHOLD), "metadata.threshold")
        require_success = metadata.get("require_success", True)
        if not isinstance(require_success, bool):
            raise InvalidInputError("metadata.require_success", f"must be a bool, got {require_success!r}")
        return [
            self._keys.namespace_prefix,
            self._keys.coordination_prefix,
            _now_ms(),
            coordination_id,
            dependency.dependency_id,
            dependency.dependency_type.value,
            target,
            owner or "",
            repr(threshold),
            "1" if require_success else "0",
            max(1, round(dependency.timeout * 1000)),
            self._check_interval_ms(dependency),
            jsonutil.dumps(metadata, "metadata", 64 * 1024),
            self.state.ttl_ms,
        ]

    def _parse(self, index: int, spec: Any) -> Dependency:
        where = f"dependencies[{index}]"
        if not isinstance(spec, dict):
            raise InvalidInputError(where, f"must be a dict, got {type(spec).__name__}")
        known = {
            "id",
            "dependency_id",
            "type",
            "dependency_type",
            "target",
            "timeout",
            "max_retries",
            "metadata",
        }
        unknown = set(spec) - known
        if unknown:
            raise InvalidInputError(f"{where}.{sorted(unknown)[0]}", "is not a dependency field")
        dep_type = spec.get("type") or spec.get("dependency_type")
        if dep_type is None:
            raise InvalidInputError(f"{where}.type", "is required")
        if "target" not in spec:
            raise InvalidInputError(f"{where}.target", "is required")
        try:
            return Dependency(
                dependency_id=spec.get("id") or spec.get("dependency_id") or f"dep_{index}",
                dependency_type=dep_type,
                target=spec["target"],
                timeout=spec.get("timeout", 120),
                max_retries=spec.get("max_retries", 3),
                metadata=dict(spec.get("metadata") or {}),
            )
        except InvalidInputError as error:
            raise InvalidInputError(f"{where}.{error.field}", error.problem) from error

    def _record_timing(self, started: float, tags: dict[str, str]) -> None:
        if self.metrics is not None:
            elapsed = (time.perf_counter() - started) * 1000
            self.metrics.record_timing_nowait("dependency_resolution_time_ms", elapsed, tags=tags)


def _checked_score(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInputError(field, f"must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise InvalidInputError(field, f"must be between 0 and 1, got {value!r}")
    return float(value)


def _parse_woken(reply: list[str]) -> list[SettledDependency]:
    marker = reply.index("|")
    return parse_settled(reply[:marker], reply[marker + 1 :])


def _now_ms() -> int:
    return int(time.time() * 1000)
