"""DependencyResolver: dependencies registered in Redis and resolved by events, from any process.

Marking a resource, scoring a gate or signalling ``agent_completed`` runs one Lua script that settles every
dependency waiting on it and announces it on the namespace's channel; waiters in any process wake at once.
``check_interval_ms`` only paces re-checks of conditions that can change without an event (a state key written
directly). Time-outs are measured from registration and recorded as TIMEOUT.

Registering checks the condition in the same script, so a dependency that already holds is settled by its
registration: ``resolve_agent_dependencies`` registers its whole list in one round trip, and only the
dependencies still pending wait (the wake-up subscription is opened only then).

The seed's names are thin adapters: each event (a resource, a gate) is validated by one function and written by
one script call, which the async, ``*_detailed`` and ``*_sync`` methods send with the matching client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from coordination import jsonutil
from coordination.dependency_events import listener_for
from coordination.dependency_mappings import PendingDependencies, ResolvedDependencies
from coordination.dependency_store import DependencyStore, dependency_from_record, now_ms
from coordination.errors import DependencyResolutionError, DependencyTimeoutError, InvalidInputError
from coordination.ids import validate_id
from coordination.limits import MAX_INTERVAL_MS
from coordination.models.dependencies import (
    Dependency,
    DependencyResolutionResult,
    DependencyStatus,
    DependencyType,
)
from coordination.models.seed import warn_unknown_fields
from coordination.signal_coordinator_stub import ISignalCoordinator
from coordination.signals import Emission, SettledDependency, SignalCoordinator, parse_settled
from coordination.store.connection import (
    async_client,
    cancellation_requests,
    raise_lost_cancellation,
    sync_client,
)
from coordination.store.keys import gate_field, resource_field
from coordination.store.scripts import LuaScript, ScriptCall, run_atomically, run_atomically_async, script

if TYPE_CHECKING:
    from coordination.metrics.collector import MetricsCollector
    from coordination.state import ThreadSafeState

logger = logging.getLogger(__name__)

#: Re-check periods of the namespace's (global) resources and gates, which seed code may write straight into the
#: state. Every other condition changes only through a script that also wakes its waiters: nothing to re-check.
DEFAULT_CHECK_INTERVAL_MS = {
    DependencyType.AGENT_COMPLETION: 0,  # completion is always an event; nothing to re-check
    DependencyType.RESOURCE_AVAILABILITY: 100,
    DependencyType.QUALITY_GATE: 500,
    DependencyType.APPROVAL: 0,  # a verdict is always an event
}
#: Where a dependency's scope sits in the registration arguments (after the state's ttl).
_SCOPE_ARG = 14
_SCOPES = ("run", "global")
DEFAULT_GATE_THRESHOLD = 0.8
#: The keys of a dependency spec in ``agent_context["dependencies"]`` (the seed read these and ignored others).
SPEC_KEYS = frozenset(
    {"id", "dependency_id", "type", "dependency_type", "target", "timeout", "max_retries", "metadata"}
)
_FINAL_STATUSES = frozenset({DependencyStatus.RESOLVED, DependencyStatus.FAILED, DependencyStatus.TIMEOUT})


def resource_state_key(resource_id: str) -> str:
    """State key holding a resource's availability (seed name)."""
    return resource_field(resource_id)


def gate_state_key(gate_id: str) -> str:
    """State key holding a quality gate's score (seed name)."""
    return gate_field(gate_id)


class DependencyResolver:
    """Resolves agent-completion, resource and quality-gate dependencies (seed-compatible API).

    Args:
        signal_coordinator: any :class:`~coordination.signal_coordinator_stub.ISignalCoordinator`; the resolver
            announces ``dependency_resolved`` through it. Agent completions are the ``agent_completed`` signals
            stored in the state's namespace (what a :class:`~coordination.signals.SignalCoordinator` on that
            state emits).
        metrics_collector: optional; receives ``dependency_resolution_time_ms``.
        state: the state holding resources and gates; defaults to the signal coordinator's state, so both
            share one namespace (required when the coordinator has none).
        max_concurrent_resolutions: Redis round trips in flight at once. Waiting holds no slot, so a satisfied
            dependency never waits behind pending ones.

    Attributes:
        pending_dependencies: the seed's ``{coordination id: [Dependency, ...]}``, live over Redis (see
            :mod:`coordination.dependency_mappings`).
        resolved_dependencies: the seed's ``{coordination id: {dependency id: bool}}``, live over Redis.

    Raises:
        InvalidInputError: ``max_concurrent_resolutions`` is not a positive integer, or no state is given and the
            signal coordinator has none.
    """

    def __init__(
        self,
        signal_coordinator: ISignalCoordinator,
        metrics_collector: MetricsCollector | None = None,
        state: ThreadSafeState[Any] | None = None,
        max_concurrent_resolutions: int = 10,
    ) -> None:
        if not isinstance(max_concurrent_resolutions, int) or max_concurrent_resolutions <= 0:
            raise InvalidInputError(
                "max_concurrent_resolutions",
                f"must be a positive integer, got {max_concurrent_resolutions!r}",
            )
        if state is None:
            state = getattr(signal_coordinator, "state", None)
            if state is None:
                raise InvalidInputError(
                    "state", "is required when the signal coordinator has no state (its namespace holds the signals)"
                )
        self.signal_coordinator = signal_coordinator
        self.metrics = metrics_collector
        self.state = state
        self.max_concurrent_resolutions = max_concurrent_resolutions
        self._keys = state.store_keys
        self._store = DependencyStore(self._keys, state.ttl_ms)
        self._slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self.pending_dependencies = PendingDependencies(self)
        self.resolved_dependencies = ResolvedDependencies(self)
        # Read (and hash) the Lua sources now, not inside the first resolution.
        _resolver_scripts()

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
            reply = await script("deps_register").run_async(async_client(), [], _register(args, counted=False))
        return await self._outcome(coordination_id, dependency, reply, started)

    async def _outcome(
        self, coordination_id: str, dependency: Dependency, reply: list[str], started: float
    ) -> DependencyResolutionResult:
        """Turn a registration's reply into the result, waiting first if the dependency is still pending."""
        status, deadline_ms, _ready, *_queued = reply
        dependency.status = DependencyStatus.IN_PROGRESS
        if status == "pending":
            status = await self._wait(coordination_id, dependency, float(deadline_ms))
        return self._finish(coordination_id, dependency, status, started)

    def _settled(
        self, coordination_id: str, dependency: Dependency, status: str, started: float
    ) -> DependencyResolutionResult | BaseException:
        """The result of a dependency its registration settled (a time-out is returned, not raised)."""
        dependency.status = DependencyStatus.IN_PROGRESS
        try:
            return self._finish(coordination_id, dependency, status, started)
        except DependencyTimeoutError as error:
            return error

    async def _wait(self, coordination_id: str, dependency: Dependency, deadline_ms: float) -> str:
        key = f"{coordination_id}/{dependency.dependency_id}"
        cancelled_before = cancellation_requests()
        listener = await listener_for(self._keys.dependency_events)
        interval_ms = self._check_interval_ms(dependency, _scope(dependency))
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
                    now_ms(),
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
        record = self._store.record(coordination_id, dependency.dependency_id)
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
        """Resolve every dependency listed in ``agent_context["dependencies"]``.

        The whole list is registered in one round trip (each registration also checks its condition); only the
        dependencies that are still pending then wait, concurrently. Returns True when all are satisfied (and
        emits ``dependency_resolved``), False when one times out or fails (recorded as TIMEOUT / FAILED).

        Each spec is a dict with ``type`` (or ``dependency_type``), ``target`` and optionally ``id`` (or
        ``dependency_id``), ``timeout``, ``max_retries`` and ``metadata``; other keys are ignored, as in the seed,
        and reported once with a ``SeedCompatibilityWarning``.

        Raises:
            InvalidInputError: a bad spec (the field is named, e.g. ``dependencies[2].timeout``); nothing is
                registered.
            DependencyResolutionError: an unexpected error.
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
        registrations: list[list[Any]] = []
        for index, dependency in enumerate(dependencies):
            try:
                args = self._registration_args(coordination_id, dependency, owner)
            except InvalidInputError as error:
                raise type(error)(f"dependencies[{index}].{error.field}", error.problem) from error
            registrations.append(_register(args, counted=False))
        # One script registers them all (deps_register's arguments after its NS, CP and NOW, in order) and, when
        # they all hold, stores the dependency_resolved signal (its signal_emit arguments after NS, CP and NOW).
        batch = [*registrations[0][:3], len(registrations), *(value for args in registrations for value in args[3:])]
        announcement = self._announcement(coordination_id, owner, dependencies)
        if announcement is not None:
            batch += announcement.args[3:]
        calls: list[ScriptCall] = [(script("deps_register_many"), [], batch)]
        failure_tags = {"coordination_id": coordination_id, "success": "false"}
        started = time.perf_counter()
        try:
            async with self._slot():
                registered = (await run_atomically_async(async_client(), calls, _resolver_scripts()))[0]
            entry = registered[registered.index("|", 3 * len(dependencies) + 1) + 1 :]
            announced = [*entry, "|", "|"]  # signal_emit's reply shape, as Emission.finish reads it
            # Settled at registration: a result at once. Only the pending ones wait (concurrently).
            results: list[DependencyResolutionResult | BaseException] = []
            waiting = []
            each = [registered[at : at + 3] for at in range(0, 3 * len(dependencies), 3)]
            for dependency, reply in zip(dependencies, each, strict=True):
                if reply[0] == "pending":
                    waiting.append(self._outcome(coordination_id, dependency, reply, started))
                else:
                    results.append(self._settled(coordination_id, dependency, reply[0], started))
            if waiting:
                results += await asyncio.gather(*waiting, return_exceptions=True)
        except Exception as error:
            self._record_timing(started, failure_tags, coordination_id)
            raise DependencyResolutionError(coordination_id, "all", str(error)) from error
        for result in results:
            if isinstance(result, DependencyTimeoutError):
                return False
            if isinstance(result, BaseException):
                self._record_timing(started, failure_tags, coordination_id)
                raise DependencyResolutionError(coordination_id, "all", str(result)) from result
            if not result.success:
                return False
        if announcement is not None and announced[0] != "|":
            announcement.finish(announced)  # announced in the registrations' transaction: its metrics now
        else:
            await self.signal_coordinator.signal_event(
                coordination_id, "dependency_resolved", _resolved_event(owner, len(dependencies))
            )
        self._record_timing(
            started, {"coordination_id": coordination_id, "dependency_count": str(len(dependencies))}, coordination_id
        )
        return True

    def _announcement(self, coordination_id: str, owner: str | None, dependencies: list[Dependency]) -> Emission | None:
        """The ``dependency_resolved`` signal, ready to ride with the registrations (``deps_register_many.lua``).

        When every dependency is resolved at registration, the script stores it in the same transaction (one round
        trip for the call); otherwise it writes nothing and the signal is emitted after the wait, as always. Only
        for this package's own coordinator storing in this resolver's namespace (the script reads the dependency
        records through the signal's key prefixes); any other coordinator is called after the registrations.
        """
        coordinator = self.signal_coordinator
        if not isinstance(coordinator, SignalCoordinator) or coordinator.state.store_keys != self._keys:
            return None
        return coordinator.prepare_emission(
            coordination_id,
            [
                {
                    # As signal_event sends it: the sender from event_data["agent_id"] (absent: system).
                    "event_type": "dependency_resolved",
                    "event_data": _resolved_event(owner, len(dependencies)),
                    "metadata": {"priority": 5},
                }
            ],
        )

    def register_sync(
        self, coordination_id: str, dependency: Dependency, *, owner: str | None = None, precounted: bool = False
    ) -> SettledDependency | None:
        """Register without waiting (for Celery workers and beat); return the settlement if immediate.

        ``precounted`` tells that the caller already counted this dependency in the owner's pending count (the
        pipeline counts all of an agent's dependencies first, so it cannot look ready half-way).
        """
        args = _register(self._registration_args(coordination_id, dependency, owner), counted=precounted)
        status, _deadline, ready, *queued = script("deps_register")(sync_client(), [], args)
        if status == "pending":
            return None
        attempt = int(str(queued[0]).split("/")[2]) if queued else 1
        return SettledDependency(
            coordination_id, dependency.dependency_id, str(status), ready or None, bool(queued), attempt
        )

    def registration_fields(self, coordination_id: str, dependency: Dependency, owner: str | None) -> list[str]:
        """Validate a registration and return its stored fields, for scripts that register as part of a larger step.

        The fields, in order: id, type, target, owner, threshold, require_success, timeout_ms, check_ms, metadata,
        scope.

        Raises:
            InvalidInputError: as :meth:`register_sync` would; nothing is written.
        """
        args = self._registration_args(coordination_id, dependency, owner)
        return [str(value) for value in [*args[4:13], args[_SCOPE_ARG]]]

    # -- events ----------------------------------------------------------------------------------------------
    #
    # One validation per kind of event (_resource_event, _gate_event) builds the write: the state key and the
    # wake-up of its waiters, in one MULTI/EXEC (one round trip, and the waiters are evaluated against exactly the
    # value just written). The seed's async methods, the *_detailed ones and the *_sync ones only pick the client
    # and the return shape.

    async def mark_resource_available(self, resource_id: str, available: bool = True) -> None:
        """Set a resource's availability; dependencies waiting on it resolve at once, in every process."""
        await self.mark_resource_available_detailed(resource_id, available)

    async def mark_resource_available_detailed(
        self, resource_id: str, available: bool = True
    ) -> list[SettledDependency]:
        """Like :meth:`mark_resource_available`, returning the dependencies it settled."""
        return await _run_event_async(self._resource_event(resource_id, available))

    def mark_resource_available_sync(self, resource_id: str, available: bool = True) -> list[SettledDependency]:
        """Blocking :meth:`mark_resource_available_detailed` (CLI, workers)."""
        return _run_event_sync(self._resource_event(resource_id, available))

    async def update_quality_gate_score(self, gate_id: str, score: float) -> None:
        """Set a quality gate's score (0..1); dependencies whose threshold it meets resolve at once."""
        await self.update_quality_gate_score_detailed(gate_id, score)

    async def update_quality_gate_score_detailed(self, gate_id: str, score: float) -> list[SettledDependency]:
        """Like :meth:`update_quality_gate_score`, returning the dependencies it settled."""
        return await _run_event_async(self._gate_event(gate_id, score))

    def update_quality_gate_score_sync(self, gate_id: str, score: float) -> list[SettledDependency]:
        """Blocking :meth:`update_quality_gate_score_detailed` (CLI, workers)."""
        return _run_event_sync(self._gate_event(gate_id, score))

    def _resource_event(self, resource_id: str, available: bool) -> list[ScriptCall]:
        validate_id(resource_id, "resource_id")
        if not isinstance(available, bool):
            raise InvalidInputError("available", f"must be a bool, got {type(available).__name__}")
        return self._condition_write(resource_state_key(resource_id), available, "resource", resource_id)

    def _gate_event(self, gate_id: str, score: float) -> list[ScriptCall]:
        validate_id(gate_id, "gate_id")
        return self._condition_write(gate_state_key(gate_id), checked_score(score, "score"), "gate", gate_id)

    def _condition_write(self, key: str, value: Any, kind: str, target: str) -> list[ScriptCall]:
        keys, args = self.state.set_call(key, value, changed_by="dependency_resolver")
        return [(script("state_write"), keys, args), (script("deps_wake"), [], self._wake_args(kind, target))]

    def _wake_args(self, kind: str, target: str) -> list[Any]:
        return [
            self._keys.namespace_prefix,
            self._keys.coordination_prefix,
            now_ms(),
            kind,
            target,
            f"{kind}:{target}",
        ]

    # -- queries ---------------------------------------------------------------------------------------------

    def get_dependency_status(self, coordination_id: str, dependency_id: str) -> dict[str, Any]:
        """Return what is known of a dependency, from any process (seed shape)."""
        validate_id(dependency_id, "dependency_id")
        record = self._store.record(coordination_id, dependency_id)
        marked = self._store.resolution_marks(coordination_id).get(dependency_id) is True
        if record.get("status") == DependencyStatus.PENDING.value and float(record["deadline_ms"]) <= now_ms():
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
                "resolved": marked,  # recorded through resolved_dependencies without being registered (seed)
                "status": "unknown",
                "error_message": "Dependency not found",
            }
        resolved_ms = record.get("resolved_ms")
        status = record["status"]
        return {
            "dependency_id": dependency_id,
            "resolved": status == DependencyStatus.RESOLVED.value or marked,
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
            "scope": _record_scope(record),
            "registered_at": datetime.fromtimestamp(float(record["registered_ms"]) / 1000, UTC).isoformat(),
            "wait_ms": (
                float(resolved_ms) - float(record["registered_ms"])
                if resolved_ms and status != DependencyStatus.PENDING.value
                else None
            ),
        }

    def get_pending_dependencies_count(self, coordination_id: str) -> int:
        """Count the coordination's dependencies still pending (resolved, failed and timed-out ones are not)."""
        statuses = self._store.statuses(coordination_id)
        return sum(1 for status in statuses.values() if status == DependencyStatus.PENDING.value)

    def list_dependencies(self, coordination_id: str) -> dict[str, str]:
        """Return every dependency id of the coordination with its status."""
        return self._store.statuses(coordination_id)

    def clear_coordination_dependencies(self, coordination_id: str) -> None:
        """Forget a coordination's dependencies (records, waiter entries, due checks) and resolution marks."""
        self._store.forget(coordination_id)
        self._store.forget_marks(coordination_id, None)

    def _mark_dependency_resolved(self, coordination_id: str, dependency_id: str) -> None:
        """Record ``dependency_id`` as resolved (the seed's helper; ``resolved_dependencies[cid][id] = True``)."""
        self.record_resolutions(coordination_id, {validate_id(dependency_id, "dependency_id"): True}, replace=False)

    # -- the seed's mappings (coordination.dependency_mappings.DependencyRecords) ----------------------------

    def coordinations_with_dependencies(self) -> list[str]:
        """Coordination ids of the namespace that have registered dependencies."""
        return self._store.coordinations_with_dependencies()

    def coordinations_with_resolutions(self) -> list[str]:
        """Coordination ids of the namespace that have resolved dependencies or resolution marks."""
        found = set(self._store.coordinations_with_marks())
        for cid in self._store.coordinations_with_dependencies():
            if cid not in found and DependencyStatus.RESOLVED.value in self._store.statuses(cid).values():
                found.add(cid)
        return sorted(found)

    def dependencies_of(self, coordination_id: str) -> list[Dependency]:
        """Every registered dependency of the coordination, as it stands now (seed ``Dependency`` objects)."""
        validate_id(coordination_id, "coordination_id")
        return [dependency_from_record(fields) for fields in self._store.records(coordination_id)]

    def resolutions_of(self, coordination_id: str) -> dict[str, bool]:
        """Dependency id -> resolved: resolved dependencies and recorded marks (a resolved record wins)."""
        validate_id(coordination_id, "coordination_id")
        marks = self._store.resolution_marks(coordination_id)
        for dep_id, status in self._store.statuses(coordination_id).items():
            if status == DependencyStatus.RESOLVED.value:
                marks[dep_id] = True
        return marks

    def replace_dependencies(self, coordination_id: str, dependencies: list[Dependency]) -> None:
        """Register ``dependencies`` with their statuses and forget the coordination's other ones.

        A dependency with a final status (resolved, failed, timeout) is registered already settled with it; a
        pending or in-progress one is registered pending (and settled at once if its condition holds).

        Raises:
            InvalidInputError: a bad id or metadata (the position is named); nothing is written.
        """
        calls: list[ScriptCall] = []
        for position, dependency in enumerate(dependencies):
            try:
                args = self._registration_args(coordination_id, dependency, None)
            except InvalidInputError as error:
                field = f"pending_dependencies[{coordination_id!r}][{position}].{error.field}"
                raise type(error)(field, error.problem) from error
            calls.append((script("deps_register"), [], _register(args, counted=False)))
            if dependency.status in _FINAL_STATUSES:
                message = dependency.error_message or ""
                calls.append(self._settle_call(coordination_id, dependency.dependency_id, dependency.status, message))
        wanted = {dependency.dependency_id for dependency in dependencies}
        stale = [dep_id for dep_id in self._store.statuses(coordination_id) if dep_id not in wanted]
        if stale:
            self._store.forget(coordination_id, stale)
        if calls:
            run_atomically(sync_client(), calls)

    def record_resolutions(self, coordination_id: str, marks: Mapping[str, bool], *, replace: bool) -> None:
        """Record resolution marks; registered dependencies marked True that are pending become resolved."""
        validate_id(coordination_id, "coordination_id")
        self._store.write_marks(coordination_id, marks, replace=replace)
        statuses = self._store.statuses(coordination_id)
        calls = [
            self._settle_call(coordination_id, dep_id, DependencyStatus.RESOLVED, "")
            for dep_id, resolved in marks.items()
            if resolved and statuses.get(dep_id) == DependencyStatus.PENDING.value
        ]
        if calls:
            run_atomically(sync_client(), calls)

    def forget_dependencies(self, coordination_id: str) -> None:
        """Forget the coordination's registered dependencies (records, waiters, due checks)."""
        self._store.forget(coordination_id)

    def forget_resolutions(self, coordination_id: str, dependency_ids: Iterable[str] | None) -> None:
        """Drop resolution marks (all of them when ``dependency_ids`` is None)."""
        self._store.forget_marks(coordination_id, dependency_ids)

    def _settle_call(
        self, coordination_id: str, dependency_id: str, status: DependencyStatus, error: str
    ) -> ScriptCall:
        args = [
            self._keys.namespace_prefix,
            self._keys.coordination_prefix,
            now_ms(),
            coordination_id,
            dependency_id,
            status.value,
            "dependency_resolver",
            error,
        ]
        return (script("deps_settle"), [], args)

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

    def _check_interval_ms(self, dependency: Dependency, scope: str) -> int:
        default = DEFAULT_CHECK_INTERVAL_MS[dependency.dependency_type]
        if scope == "run":
            default = 0  # the coordination's own values change only through condition_set.lua, which wakes
        value = dependency.metadata.get("check_interval_ms", default)
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
            threshold = checked_score(metadata.get("threshold", DEFAULT_GATE_THRESHOLD), "metadata.threshold")
        require_success = metadata.get("require_success", True)
        if not isinstance(require_success, bool):
            raise InvalidInputError("metadata.require_success", f"must be a bool, got {require_success!r}")
        scope = _scope(dependency)
        return [
            self._keys.namespace_prefix,
            self._keys.coordination_prefix,
            now_ms(),
            coordination_id,
            dependency.dependency_id,
            dependency.dependency_type.value,
            target,
            owner or "",
            repr(threshold),
            "1" if require_success else "0",
            max(1, round(dependency.timeout * 1000)),
            self._check_interval_ms(dependency, scope),
            jsonutil.dumps(metadata, "metadata", 64 * 1024),
            self.state.ttl_ms,
            scope,
        ]

    def _parse(self, index: int, spec: Any) -> Dependency:
        where = f"dependencies[{index}]"
        if not isinstance(spec, dict):
            raise InvalidInputError(where, f"must be a dict, got {type(spec).__name__}")
        if not SPEC_KEYS.issuperset(spec):
            # The seed read only its keys and ignored the rest; so do we, saying so once.
            warn_unknown_fields("dependency spec", spec.keys() - SPEC_KEYS, SPEC_KEYS)
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

    def _record_timing(self, started: float, tags: dict[str, str], coordination_id: str) -> None:
        if self.metrics is not None:
            elapsed = (time.perf_counter() - started) * 1000
            self.metrics.record_timing_nowait(
                "dependency_resolution_time_ms", elapsed, tags=tags, correlation_id=coordination_id
            )


def checked_score(value: Any, field: str) -> float:
    """A score from 0 to 1 (a finite number, not a bool).

    Raises:
        InvalidInputError: anything else; names ``field``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInputError(field, f"must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise InvalidInputError(field, f"must be between 0 and 1, got {value!r}")
    return float(value)


def _scope(dependency: Dependency) -> str:
    """Whose value a dependency reads: ``run`` (the coordination's own) or ``global`` (the namespace's).

    Agent completions and approvals always belong to their coordination. A resource or quality gate is global
    unless its metadata says ``scope: "run"`` (the seed's resolver API stays namespace-wide; workflows declare
    ``scope``, run by default).

    Raises:
        InvalidInputError: ``metadata.scope`` is neither ``run`` nor ``global``, or ``global`` for an approval.
    """
    declared = dependency.metadata.get("scope")
    if declared is not None and declared not in _SCOPES:
        raise InvalidInputError("metadata.scope", f"must be 'run' or 'global', got {declared!r:.60}")
    if dependency.dependency_type in (DependencyType.AGENT_COMPLETION, DependencyType.APPROVAL):
        if declared == "global":
            raise InvalidInputError(
                "metadata.scope", f"{dependency.dependency_type.value} dependencies belong to their coordination"
            )
        return "run"
    return str(declared or "global")


def _record_scope(record: Mapping[str, str]) -> str | None:
    """A stored dependency's scope: run or global for resources and gates (records without one are global)."""
    if record.get("type") in (DependencyType.RESOURCE_AVAILABILITY.value, DependencyType.QUALITY_GATE.value):
        return record.get("scope") or "global"
    return None


def _register(args: list[Any], *, counted: bool) -> list[Any]:
    """``deps_register.lua``'s arguments from the registration arguments (the scope goes after ``counted``)."""
    return [*args[:_SCOPE_ARG], "1" if counted else "0", args[_SCOPE_ARG]]


def _resolved_event(owner: str | None, count: int) -> dict[str, Any]:
    """The event data of ``dependency_resolved`` (the seed's fields)."""
    return {"resolver_agent": owner or "unknown", "dependency_count": count, "timestamp": datetime.now(UTC).isoformat()}


def _parse_woken(reply: list[str]) -> list[SettledDependency]:
    marker = reply.index("|")
    return parse_settled(reply[:marker], reply[marker + 1 :])


@cache
def _resolver_scripts() -> tuple[LuaScript, ...]:
    """The scripts a resolver runs: its first transaction loads every one the server lacks, in one round trip.

    (Compiling ``deps_register`` with its libraries takes the server about a millisecond: paid once per process,
    by whichever call comes first, instead of by the first resolution after a resource was marked.)
    """
    names = ("deps_register_many", "deps_register", "deps_check", "state_write", "deps_wake")
    return tuple(script(name) for name in names)


async def _run_event_async(calls: list[ScriptCall]) -> list[SettledDependency]:
    _written, woken = await run_atomically_async(async_client(), calls, _resolver_scripts())
    return _parse_woken(woken)


def _run_event_sync(calls: list[ScriptCall]) -> list[SettledDependency]:
    _written, woken = run_atomically(sync_client(), calls)
    return _parse_woken(woken)
