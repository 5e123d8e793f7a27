"""ContextDistributor: per-agent context packages stored in Redis, fetched O(1) by any process.

Storage (keys from :class:`~coordination.store.keys.CoordinationKeys`)::

    R:N:coord:{C}:contexts        hash  agent id -> AgentContext JSON
    R:N:coord:{C}:context-order   list  agent ids in distribution order
    R:{N}:coordinations           set   coordination ids seen in the namespace (C is added on distribution)

Every write is one MULTI/EXEC transaction, and every input is validated before it: bad input raises an
:class:`~coordination.errors.InvalidInputError` naming the field and leaves the store untouched.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from config.settings import get_settings
from coordination import jsonutil
from coordination.errors import (
    ContextDistributionError,
    InvalidInputError,
    NotSerializableError,
    PayloadTooLargeError,
)
from coordination.ids import validate_id
from coordination.metrics.models import MetricType
from coordination.models.base import prevalidated, utcnow
from coordination.models.context import (
    SHARED_INTELLIGENCE_SECTIONS,
    AgentAssignment,
    AgentContext,
    ContextUpdateRequest,
    CoordinationMetadata,
    CoordinationProtocols,
    ResourceAllocation,
    SharedIntelligence,
)
from coordination.models.seed import warn_unknown_fields
from coordination.store.connection import async_client, sync_client
from coordination.store.keys import CoordinationKeys
from coordination.store.scripts import script
from coordination.validation import input_error

if TYPE_CHECKING:
    from redis.client import Pipeline

    from coordination.metrics import MetricsCollector
    from coordination.store.keys import Keys

logger = logging.getLogger(__name__)

_SLOW_PER_AGENT_MS = 200.0  # the seed's documented target; slower distributions are logged as warnings
_ASSIGNMENT_FIELDS = frozenset(AgentAssignment.model_fields)
_ACCEPTED_ASSIGNMENT_KEYS = _ASSIGNMENT_FIELDS | {"agent_role"}
_PLAIN_ASSIGNMENT_KEYS = frozenset({"objective", "tasks", "dependencies"})
_NO_DEPENDENCIES: list[str] = []
# The value type of each SharedIntelligence section, to validate update_data (the seed did not).
_SECTION_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "type_registry": TypeAdapter(dict[str, Any]),
    "pattern_library": TypeAdapter(dict[str, list[str]]),
    "validation_rules": TypeAdapter(dict[str, Any]),
    "naming_conventions": TypeAdapter(dict[str, str]),
    "dependency_graph": TypeAdapter(dict[str, list[str]]),
}

_M = TypeVar("_M", bound=BaseModel)


class StateHandle(Protocol):
    """What the distributor needs from a :class:`~coordination.state.ThreadSafeState`."""

    @property
    def store_keys(self) -> Keys:
        """Key builder of the state's namespace."""

    @property
    def ttl_ms(self) -> int:
        """Idle expiry of a private state's keys in ms; 0 for a shared namespace."""


class _Distribution:
    """A fully validated distribution, ready to be written in one transaction."""

    __slots__ = ("contexts", "coordination_id", "keys", "sizes", "texts")

    def __init__(self, coordination_id: str, keys: CoordinationKeys) -> None:
        self.coordination_id = coordination_id
        self.keys = keys
        self.contexts: dict[str, AgentContext] = {}
        self.texts: dict[str, str] = {}
        self.sizes: dict[str, int] = {}


class ContextDistributor:
    """Distributes agent context packages and serves them to any process.

    Args:
        state: the :class:`~coordination.state.ThreadSafeState` whose namespace holds the contexts.
        metrics_collector: optional collector for ``context_size_bytes`` and distribution timings.
        default_resource_allocation: allocation for agents without their own (default
            ``ResourceAllocation()``).
        default_coordination_protocols: protocols for agents without their own (default
            ``CoordinationProtocols()``).
    """

    def __init__(
        self,
        state: StateHandle,
        metrics_collector: MetricsCollector | None = None,
        default_resource_allocation: ResourceAllocation | None = None,
        default_coordination_protocols: CoordinationProtocols | None = None,
    ) -> None:
        self.state = state
        self.metrics = metrics_collector
        self._keys = state.store_keys
        self._ttl_ms = state.ttl_ms
        self.default_resource_allocation = _instance_or_default(
            default_resource_allocation, ResourceAllocation, "default_resource_allocation"
        )
        self.default_coordination_protocols = _instance_or_default(
            default_coordination_protocols, CoordinationProtocols, "default_coordination_protocols"
        )
        # Made now, not inside the first distribution: the Lua source read and hashed, the defaults encoded.
        script("contexts_store")
        _default_shared_json()
        self._defaults_json: tuple[object, object, dict[int, str]] | None = None
        self._encoded_defaults()

    async def distribute_agent_context(
        self,
        coordination_state: dict[str, Any],
        agent_assignments: dict[str, dict[str, Any]],
        shared_intelligence: SharedIntelligence | None = None,
        resource_allocations: dict[str, ResourceAllocation] | None = None,
        coordination_protocols: dict[str, CoordinationProtocols] | None = None,
    ) -> dict[str, AgentContext]:
        """Build every agent's context and store them all.

        Each agent's new context replaces its earlier one; agents distributed earlier and not named here keep
        theirs, so distributing in batches accumulates (call :meth:`clear_coordination_contexts` to start over).

        Args:
            coordination_state: must hold ``coordination_id`` and ``session_id`` (as in the seed).
            agent_assignments: agent id -> assignment dict (``AgentAssignment`` fields plus ``agent_role``; other
                keys are ignored, as in the seed, and reported once with a ``SeedCompatibilityWarning``).
            shared_intelligence: shared by every agent (a ``SharedIntelligence`` or a dict of its fields).
            resource_allocations: agent id -> allocation for the agents that do not use the default.
            coordination_protocols: agent id -> protocols for the agents that do not use the default.

        Returns:
            Agent id -> the stored context, in assignment order. Empty assignments return ``{}`` and write
            nothing.

        Note:
            The seed replaced the whole earlier distribution, which made its own "distribute in batches" recipe
            keep only the last batch.

        Raises:
            InvalidInputError: a missing ``coordination_id`` or ``session_id`` (a ``ValueError`` with the seed's
                message, naming the key), an allocation for an agent that has no assignment (names the field).
            ContextDistributionError: an agent's assignment, allocation or protocols are invalid: the seed's
                ``RuntimeError("Context distribution failed for agent '<id>': ...")``, also an
                ``InvalidInputError`` naming the field.
            InvalidIdError: a coordination or agent id that cannot be a key.
            NotSerializableError: a value JSON cannot represent.
            PayloadTooLargeError: an agent's context is over ``settings.max_context_bytes`` (names the agent).
            StoreUnavailableError: Redis could not be reached.
        """
        start = time.perf_counter()
        plan = self._plan(
            coordination_state,
            agent_assignments,
            shared_intelligence,
            resource_allocations,
            coordination_protocols,
        )
        count = len(plan.contexts)
        if count == 0:
            return {}
        ck = plan.keys
        ttl_ms = self._ttl_ms
        registry = self._keys.coordinations
        await script("contexts_store").run_async(
            async_client(), [ck.contexts, ck.context_order, registry], _store_args(plan, ttl_ms)
        )
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        self._record_distribution(plan, elapsed_ms)
        return plan.contexts

    def distribute_agent_context_sync(
        self,
        coordination_state: dict[str, Any],
        agent_assignments: dict[str, dict[str, Any]],
        shared_intelligence: SharedIntelligence | None = None,
        resource_allocations: dict[str, ResourceAllocation] | None = None,
        coordination_protocols: dict[str, CoordinationProtocols] | None = None,
    ) -> dict[str, AgentContext]:
        """Blocking :meth:`distribute_agent_context`, for Celery workers, the CLI and other sync code."""
        start = time.perf_counter()
        plan = self._plan(
            coordination_state, agent_assignments, shared_intelligence, resource_allocations, coordination_protocols
        )
        if not plan.contexts:
            return {}
        ck = plan.keys
        registry = self._keys.coordinations
        script("contexts_store")(
            sync_client(), [ck.contexts, ck.context_order, registry], _store_args(plan, self._ttl_ms)
        )
        self._record_distribution(plan, (time.perf_counter() - start) * 1000.0)
        return plan.contexts

    def context_texts(
        self,
        coordination_state: dict[str, Any],
        agent_assignments: dict[str, dict[str, Any]],
        shared_intelligence: SharedIntelligence | None = None,
        resource_allocations: dict[str, ResourceAllocation] | None = None,
    ) -> dict[str, str]:
        """Build and validate every agent's context like :meth:`distribute_agent_context`, without storing it.

        Returns agent id -> the context JSON that distribution would store. For callers that store the contexts
        as part of a larger atomic step (pipeline submission).
        """
        return self._plan(coordination_state, agent_assignments, shared_intelligence, resource_allocations, None).texts

    def get_agent_context(self, coordination_id: str, agent_id: str) -> AgentContext | None:
        """Return one agent's context (one HGET, independent of the number of agents), or None if absent.

        Raises:
            InvalidIdError: ``coordination_id`` or ``agent_id`` cannot be a key.
            StoreUnavailableError: Redis could not be reached.
        """
        contexts_key = self._keys.coordination(coordination_id).contexts
        validate_id(agent_id, "agent_id")
        text = sync_client().hget(contexts_key, agent_id)
        if text is None:
            return None
        return AgentContext.model_validate_json(text)

    def update_shared_intelligence(self, update_request: ContextUpdateRequest) -> dict[str, bool]:
        """Apply ``section.update(update_data)`` to the targeted contexts, atomically for every reader.

        The read-modify-write runs in a WATCH/MULTI transaction, retried when another writer got in between,
        so concurrent updates from any number of processes are never lost.

        Args:
            update_request: the section (``update_type``), the entries to merge into it, the target agents
                (None or empty: all agents of the coordination) and whether to bump ``context_version``.

        Returns:
            Agent id -> True if its context was updated, False if the agent has no context. ``{}`` when the
            coordination has no contexts.

        Raises:
            InvalidInputError: ``update_type`` is not a SharedIntelligence section, or ``update_data`` does
                not fit that section (the seed reported False per agent instead); nothing is written.
            InvalidIdError: a coordination or target agent id that cannot be a key.
            NotSerializableError: ``update_data`` holds a value JSON cannot represent.
            PayloadTooLargeError: a context would exceed ``settings.max_context_bytes``; nothing is written.
            StoreUnavailableError: Redis could not be reached.
        """
        if not isinstance(update_request, ContextUpdateRequest):
            raise InvalidInputError("update_request", "must be a ContextUpdateRequest")
        section = update_request.update_type
        if section not in SHARED_INTELLIGENCE_SECTIONS:
            # Reachable only through model_construct(): the model itself refuses unknown sections.
            raise InvalidInputError(
                "update_type", f"{section!r} is not one of {', '.join(SHARED_INTELLIGENCE_SECTIONS)}"
            )
        ck = self._keys.coordination(update_request.coordination_id)
        targets = list(dict.fromkeys(validate_id(a, "target_agents") for a in update_request.target_agents or ()))
        entries = _section_entries(section, update_request.update_data)
        bump = 1 if update_request.increment_version else 0
        limit = get_settings().max_context_bytes
        ttl_ms = self._ttl_ms
        results: dict[str, bool] = {}

        def apply(pipe: Pipeline) -> None:
            results.clear()  # the callable runs again after a WatchError
            agents: list[str] = targets or pipe.lrange(ck.context_order, 0, -1)  # type: ignore[assignment]
            texts: list[str | None] = pipe.hmget(ck.contexts, agents) if agents else []  # type: ignore[assignment]
            updated: dict[str, str] = {}
            for agent_id, text in zip(agents, texts, strict=True):
                results[agent_id] = text is not None
                if text is None:
                    continue
                context = json.loads(text)
                context["shared_intelligence"][section].update(entries)
                context["context_version"] += bump
                updated[agent_id] = _checked_size(
                    jsonutil.dumps(context, f"context of agent {agent_id!r}"), agent_id, limit
                )
            if not updated:
                return
            pipe.multi()
            pipe.hset(ck.contexts, mapping=updated)  # type: ignore[arg-type]
            if ttl_ms > 0:
                pipe.pexpire(ck.contexts, ttl_ms)
                pipe.pexpire(ck.context_order, ttl_ms)

        sync_client().transaction(apply, ck.contexts, ck.context_order)
        return results

    def list_coordination_contexts(self, coordination_id: str) -> list[str]:
        """Return the agent ids that have a context in ``coordination_id``, in distribution order.

        Raises:
            InvalidIdError: ``coordination_id`` cannot be a key.
        """
        order_key = self._keys.coordination(coordination_id).context_order
        agents: list[str] = sync_client().lrange(order_key, 0, -1)
        return agents

    def clear_coordination_contexts(self, coordination_id: str) -> bool:
        """Delete every context of ``coordination_id``; return False if it had none.

        The coordination id is also removed from the namespace's coordination registry when no other key
        of the coordination (signals, dependencies, completions) remains: a cleared coordination leaves
        nothing behind.

        Raises:
            InvalidIdError: ``coordination_id`` cannot be a key.
        """
        ck = self._keys.coordination(coordination_id)
        others = _other_coordination_keys(ck)
        registry = self._keys.coordinations

        def clear(pipe: Pipeline) -> None:
            remaining = pipe.exists(*others)
            pipe.multi()
            pipe.delete(ck.contexts, ck.context_order)
            if not remaining:
                pipe.srem(registry, coordination_id)

        replies: list[Any] = sync_client().transaction(clear, *others)
        return bool(replies[0])

    def store_agent_context(self, context: AgentContext) -> None:
        """Store one context built by hand (for example from a template), under its own metadata's ids.

        The context replaces the agent's earlier one, if any; a new agent is appended to the distribution
        order. This completes the seed guide's "reuse template contexts" recipe, which ended in "store context
        manually".

        Raises:
            InvalidInputError: ``context`` is not a valid AgentContext (the message names the field).
            NotSerializableError: it holds a value JSON cannot represent.
            PayloadTooLargeError: it is over ``settings.max_context_bytes``.
        """
        if not isinstance(context, AgentContext):
            raise InvalidInputError("context", "must be an AgentContext")
        # The free-form sections follow the one JSON rule (model_dump(mode="json") would turn a set into a list
        # and a datetime into text, which the distributor and state refuse).
        _json_of_fields(context.agent_assignment.__dict__, "context.agent_assignment")
        _json_of_fields(context.shared_intelligence.__dict__, "context.shared_intelligence")
        try:
            plain = context.model_dump(mode="json")
        except PydanticSerializationError as error:
            raise NotSerializableError("context", f"is not JSON-serializable ({error})") from error
        agent_id = validate_id(plain["coordination_metadata"]["agent_id"], "context.coordination_metadata.agent_id")
        text = _checked_size(jsonutil.dumps(plain, "context"), agent_id, get_settings().max_context_bytes)
        # Mutable sections may have been changed after validation: check that the stored text reads back.
        _validated(AgentContext, text, "context")
        cid = plain["coordination_metadata"]["coordination_id"]
        ck = self._keys.coordination(cid)
        ttl_ms = self._ttl_ms
        registry = self._keys.coordinations

        def store(pipe: Pipeline) -> None:
            known = pipe.hexists(ck.contexts, agent_id)
            pipe.multi()
            pipe.hset(ck.contexts, agent_id, text)
            if not known:
                pipe.rpush(ck.context_order, agent_id)
            pipe.sadd(registry, cid)
            if ttl_ms > 0:
                for key in (ck.contexts, ck.context_order, registry):
                    pipe.pexpire(key, ttl_ms)

        sync_client().transaction(store, ck.contexts)

    # -- validation, all before any write -------------------------------------------------------------------

    def _plan(
        self,
        coordination_state: Mapping[str, Any],
        agent_assignments: Mapping[str, Mapping[str, Any]],
        shared_intelligence: SharedIntelligence | Mapping[str, Any] | None,
        resource_allocations: Mapping[str, ResourceAllocation] | None,
        coordination_protocols: Mapping[str, CoordinationProtocols] | None,
    ) -> _Distribution:
        coordination_id, session_id = _read_coordination_state(coordination_state)
        plan = _Distribution(coordination_id, self._keys.coordination(coordination_id))
        if not isinstance(agent_assignments, Mapping):
            raise InvalidInputError("agent_assignments", "must be a dict of agent id -> assignment dict")
        allocations = _per_agent(resource_allocations, ResourceAllocation, "resource_allocations", agent_assignments)
        protocols = _per_agent(
            coordination_protocols, CoordinationProtocols, "coordination_protocols", agent_assignments
        )
        shared = _shared_intelligence(shared_intelligence)
        if not agent_assignments:
            return plan

        limit = get_settings().max_context_bytes
        created_at = utcnow()
        # The parts every agent shares are encoded once and spliced into each agent's JSON.
        if shared_intelligence is None:
            shared_json = _default_shared_json()
        else:
            shared_json = _json_of_fields(shared.__dict__, "shared_intelligence")
            _validated(SharedIntelligence, shared_json, "shared_intelligence")
        encoded = self._encoded_defaults()

        def encode_once(model: BaseModel) -> str:
            text = encoded.get(id(model))
            if text is None:
                text = encoded[id(model)] = model.model_dump_json()
            return text

        session_json = jsonutil.dumps_str(session_id, "coordination_state['session_id']")
        head = f'{{"session_id":{session_json},"coordination_id":"{coordination_id}"'
        tail = f',"parent_workflow_id":null,"created_at":"{_iso(created_at)}"}}'
        default_allocation = self.default_resource_allocation
        default_protocols = self.default_coordination_protocols
        for agent_id, data in agent_assignments.items():
            validate_id(agent_id, "agent_assignments key")
            field = f"agent_assignments[{agent_id!r}]"
            assignment, role, role_json, assignment_json = _assignment(field, agent_id, data)
            allocation = allocations.get(agent_id, default_allocation)
            protocol = protocols.get(agent_id, default_protocols)
            # agent_id is a validated id (no character needs escaping in JSON).
            metadata_json = f'{head},"agent_id":"{agent_id}","agent_role":{role_json}{tail}'
            text = (
                f'{{"coordination_metadata":{metadata_json},"shared_intelligence":{shared_json},'
                f'"agent_assignment":{assignment_json},'
                f'"coordination_protocols":{encode_once(protocol)},'
                f'"resource_allocation":{encode_once(allocation)},"context_version":1}}'
            )
            plan.sizes[agent_id] = _measured(text, agent_id, limit)
            plan.texts[agent_id] = text
            # Every part is validated already: build the returned models without validating again.
            metadata = prevalidated(
                CoordinationMetadata,
                {
                    "session_id": session_id,
                    "coordination_id": coordination_id,
                    "agent_id": agent_id,
                    "agent_role": role,
                    "parent_workflow_id": None,
                    "created_at": created_at,
                },
            )
            plan.contexts[agent_id] = prevalidated(
                AgentContext,
                {
                    "coordination_metadata": metadata,
                    "shared_intelligence": shared,
                    "agent_assignment": assignment,
                    "coordination_protocols": protocol,
                    "resource_allocation": allocation,
                    "context_version": 1,
                },
            )
        return plan

    def _encoded_defaults(self) -> dict[int, str]:
        """Object id -> JSON of the default allocation and protocols (frozen: encoded once, again when replaced)."""
        allocation, protocols = self.default_resource_allocation, self.default_coordination_protocols
        cached = self._defaults_json
        if cached is None or cached[0] is not allocation or cached[1] is not protocols:
            texts = {id(allocation): allocation.model_dump_json(), id(protocols): protocols.model_dump_json()}
            cached = self._defaults_json = (allocation, protocols, texts)
        return dict(cached[2])  # a copy: a distribution adds the JSON of its agents' own models to it

    def _record_distribution(self, plan: _Distribution, elapsed_ms: float) -> None:
        count = len(plan.contexts)
        per_agent_ms = elapsed_ms / count
        cid = plan.coordination_id
        metrics = self.metrics
        if metrics is not None:
            records: list[tuple[str, MetricType, float, str, dict[str, str] | None]] = [
                (
                    "context_size_bytes",
                    MetricType.GAUGE,
                    float(size),
                    "bytes",
                    {"agent_id": agent_id, "coordination_id": cid},
                )
                for agent_id, size in plan.sizes.items()
            ]
            records.append(
                (
                    "context_distribution_time_ms",
                    MetricType.TIMING,
                    elapsed_ms,
                    "ms",
                    {"coordination_id": cid, "agent_count": str(count)},
                )
            )
            records.append(
                ("context_distribution_per_agent_ms", MetricType.TIMING, per_agent_ms, "ms", {"coordination_id": cid})
            )
            record_many = getattr(metrics, "record_many_nowait", None)
            if record_many is not None:  # our collector: one buffer write for them all
                record_many(records, cid)
            else:  # a collector of the user's own with the seed's per-metric methods
                for name, kind, value, unit, tags in records:
                    if kind is MetricType.GAUGE:
                        metrics.record_gauge_nowait(name, value, unit=unit, tags=tags, correlation_id=cid)
                    else:
                        metrics.record_timing_nowait(name, value, tags=tags, correlation_id=cid)
        logger.debug("distributed %d contexts for %s in %.2f ms", count, cid, elapsed_ms)
        if per_agent_ms > _SLOW_PER_AGENT_MS:
            logger.warning(
                "context distribution for %s took %.1f ms per agent (target %.0f ms)",
                cid,
                per_agent_ms,
                _SLOW_PER_AGENT_MS,
            )


# -- helpers ----------------------------------------------------------------------------------------------


def _store_args(plan: _Distribution, ttl_ms: int) -> list[Any]:
    args: list[Any] = [ttl_ms, plan.coordination_id]
    for agent_id, text in plan.texts.items():
        args += (agent_id, text)
    return args


_MISSING_IDS = "coordination_state must contain 'coordination_id' and 'session_id'"  # the seed's wording


def _read_coordination_state(coordination_state: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(coordination_state, Mapping):
        raise InvalidInputError("coordination_state", f"{_MISSING_IDS}; got {type(coordination_state).__name__}")
    for name in ("coordination_id", "session_id"):
        if not coordination_state.get(name):
            raise InvalidInputError(f"coordination_state[{name!r}]", f"{_MISSING_IDS}; {name!r} is missing or empty")
    coordination_id = validate_id(coordination_state["coordination_id"], "coordination_state['coordination_id']")
    session_id = coordination_state["session_id"]
    if not isinstance(session_id, str):
        raise InvalidInputError(
            "coordination_state['session_id']", f"must be a string, got {type(session_id).__name__}"
        )
    return coordination_id, session_id


def _instance_or_default(value: _M | Mapping[str, Any] | None, model: type[_M], field: str) -> _M:
    if value is None:
        return model()
    if isinstance(value, model):
        return value
    if isinstance(value, Mapping):
        return _validated(model, value, field)
    raise InvalidInputError(field, f"must be a {model.__name__}, got {type(value).__name__}")


def _per_agent(
    values: Mapping[str, _M | Mapping[str, Any]] | None,
    model: type[_M],
    field: str,
    agent_assignments: Mapping[str, Any],
) -> dict[str, _M]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidInputError(field, f"must be a dict of agent id -> {model.__name__}")
    checked: dict[str, _M] = {}
    for agent_id, value in values.items():
        entry = f"{field}[{agent_id!r}]"
        if agent_id not in agent_assignments:
            # The seed silently ignored these, so a misspelt agent id fell back to the defaults unnoticed.
            raise InvalidInputError(entry, "names an agent that has no entry in agent_assignments")
        if isinstance(value, model):
            checked[agent_id] = value
        elif isinstance(value, Mapping):
            checked[agent_id] = _agent_part(model, value, entry, agent_id)
        else:
            raise ContextDistributionError(entry, agent_id, f"must be a {model.__name__}, got {type(value).__name__}")
    return checked


def _shared_intelligence(value: SharedIntelligence | Mapping[str, Any] | None) -> SharedIntelligence:
    if value is None:  # the default, without running the validator over five empty sections
        return prevalidated(SharedIntelligence, {name: {} for name in SHARED_INTELLIGENCE_SECTIONS}, set())
    return _instance_or_default(value, SharedIntelligence, "shared_intelligence")


def _assignment(field: str, agent_id: str, data: Mapping[str, Any]) -> tuple[AgentAssignment, str, str, str]:
    """One agent's assignment: the model, the agent's role, the role's JSON, and the assignment's JSON."""
    if type(data) is not dict and not isinstance(data, Mapping):
        problem = f"must be a dict of assignment fields, got {type(data).__name__}"
        raise ContextDistributionError(field, agent_id, problem)
    # The seed's defaults: objective and tasks may be omitted; agent_role defaults to the agent id. Other keys are
    # ignored, as the seed ignored them (it read only these), and reported once.
    payload = {"objective": "", "tasks": [], **data}
    if not _ACCEPTED_ASSIGNMENT_KEYS.issuperset(payload):
        unknown = payload.keys() - _ACCEPTED_ASSIGNMENT_KEYS
        warn_unknown_fields("agent assignment", unknown, _ACCEPTED_ASSIGNMENT_KEYS)
        for name in unknown:
            del payload[name]
    role = payload.pop("agent_role", agent_id)
    if type(role) is not str or not role:
        raise ContextDistributionError(f"{field}.agent_role", agent_id, "must be a non-empty string")
    try:
        role_json = jsonutil.dumps_str(role, "agent_role")
    except InvalidInputError as error:
        raise ContextDistributionError(f"{field}.agent_role", agent_id, error.problem) from error
    plain = _plain_assignment(payload)
    if plain is not None:
        return plain[0], role, role_json, plain[1]
    assignment = _agent_part(AgentAssignment, payload, field, agent_id)
    return assignment, role, role_json, _json_of_fields(assignment.__dict__, field)


def _plain_assignment(payload: dict[str, Any]) -> tuple[AgentAssignment, str] | None:
    """The assignment of the common shape (objective, tasks, dependencies, as plain strings) without the validator.

    Returns the model and its JSON; None for any other shape, or a text JSON cannot carry: the model validates it
    and the package's JSON rule encodes it (and names what is wrong). What is built here equals what those build
    (unit-tested): lists copied, the dict sections empty, the same JSON text.
    """
    objective, tasks = payload["objective"], payload["tasks"]
    dependencies = payload.get("dependencies", _NO_DEPENDENCIES)
    if not (
        type(objective) is str
        and type(tasks) is list
        and type(dependencies) is list
        and _PLAIN_ASSIGNMENT_KEYS.issuperset(payload)
        and all(type(task) is str for task in tasks)
        and all(type(dependency) is str for dependency in dependencies)
    ):
        return None
    try:
        text = (
            f'{{"objective":{jsonutil.dumps_str(objective, "objective")},'
            f'"tasks":[{",".join([jsonutil.dumps_str(task, "tasks") for task in tasks])}],"input_data":{{}},'
            f'"dependencies":[{",".join([jsonutil.dumps_str(name, "dependencies") for name in dependencies])}],'
            '"output_requirements":{},"success_criteria":{}}'
        )
    except InvalidInputError:
        return None  # the general path names the exact item
    assignment = prevalidated(
        AgentAssignment,
        {
            "objective": objective,
            "tasks": list(tasks),
            "input_data": {},
            "dependencies": list(dependencies),
            "output_requirements": {},
            "success_criteria": {},
        },
        set(payload),  # as the validator counts them: objective and tasks always (the seed's defaults are in)
    )
    return assignment, text


def _agent_part(model: type[_M], value: Mapping[str, Any], field: str, agent_id: str) -> _M:
    """Validate one agent's part of a distribution; a failure is the seed's per-agent error."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        refused: InvalidInputError = input_error(error, field)
        raise ContextDistributionError(refused.field, agent_id, refused.problem) from error


def _section_entries(section: str, update_data: Any) -> dict[str, Any]:
    """Validate ``update_data`` against the section's type and return it as plain JSON values."""
    try:
        entries = _SECTION_ADAPTERS[section].validate_python(update_data)
    except ValidationError as error:
        raise input_error(error, "update_data") from error
    result: dict[str, Any] = jsonutil.loads(jsonutil.dumps(entries, "update_data"))
    return result


def _validated(model: type[_M], value: Mapping[str, Any] | str, field: str) -> _M:
    try:
        if isinstance(value, str):
            return model.model_validate_json(value)
        return model.model_validate(value)
    except ValidationError as error:
        raise input_error(error, field) from error


def _measured(text: str, agent_id: str, limit: int) -> int:
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    if size > limit:
        raise PayloadTooLargeError(
            f"context of agent {agent_id!r}", f"is {size} bytes of JSON, over the limit of {limit} bytes"
        )
    return size


def _checked_size(text: str, agent_id: str, limit: int) -> str:
    _measured(text, agent_id, limit)
    return text


def _json_of_fields(fields: dict[str, Any], field: str) -> str:
    """Encode a model's field dict under the package's one JSON rule, naming the field (and the path inside it).

    The same encoder as state values and signal data (:mod:`coordination.jsonutil`): sets, datetimes, objects,
    NaN, infinities, huge integers, lone surrogates and deep nesting are refused here exactly as they are there.
    """
    return jsonutil.dumps(fields, field)


@cache
def _default_shared_json() -> str:
    # What every distribution without shared intelligence splices in (a default model: valid by construction).
    return _json_of_fields(SharedIntelligence().__dict__, "shared_intelligence")


def _iso(moment: datetime) -> str:
    # Same form pydantic writes for an aware UTC datetime.
    text: str = moment.isoformat()
    return text.replace("+00:00", "Z")


def _other_coordination_keys(ck: CoordinationKeys) -> list[str]:
    """Every other fixed key a coordination may have (signals, dependencies, completions, ...).

    Read from :class:`CoordinationKeys` itself, so a key added there is taken into account here. Per-item keys
    (a dependency record, an agent's waiters) exist only alongside the coordination's dependency set.
    """
    return [
        getattr(ck, name)
        for name, attribute in vars(CoordinationKeys).items()
        if isinstance(attribute, property)
        and not name.endswith("_prefix")
        and name not in ("contexts", "context_order")
    ]


__all__ = ["ContextDistributor", "StateHandle"]
