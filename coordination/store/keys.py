"""Every Redis key name, built in one place.

Layout (``R`` = the settings namespace, the root prefix; ``N`` = a component namespace, usually the
namespace of the ``ThreadSafeState`` the component was built on; ``C`` = a coordination id)::

    R:{N}:state:data            hash   state key -> JSON value
    R:{N}:state:meta            hash   version
    R:{N}:state:log             stream change records (capped)
    R:{N}:due                   zset   "C/dependency_id" -> next check time (ms); beat and pollers read it
    R:{N}:agents-due            zset   "C/agent_id" -> when beat must look at the agent: a queued attempt whose
                                       message may be lost, a running attempt whose lease ends
    R:{N}:active                set    pipeline coordinations still running
    R:{N}:finished              zset   finished pipeline coordinations by finish time (ms)
    R:{N}:lock:NAME             string a periodic task's lock (holder token)
    R:{N}:beat                  hash   beat's heartbeat (last poll time, last schedule check)
    R:{N}:reply:TOKEN           string a guarded script's reply, kept briefly for a resend (coordination.store.scripts)
    R:{N}:waiters:resource:ID   set    "C/dependency_id" waiting for a global resource (``scope: global``, seed API)
    R:{N}:waiters:gate:ID       set    "C/dependency_id" waiting for a global quality gate (``scope: global``, seed API)
    R:{N}:dep-events            pub/sub channel announcing resolved dependencies
    R:{N}:routing               stream routing history records (for the archive)
    R:{N}:coordinations         set    coordination ids seen in this namespace
    R:{N}:archive:cursors       hash   what the PostgreSQL archive already holds (stream id per source)
    R:N:coord:{C}:...           per-coordination keys (see :class:`CoordinationKeys`)
    R:metrics                   stream flushed metrics (for reading back and archiving)
    R:store                     hash   the store's identity: generation (random, written at first use), created_ms

Per coordination (``R:N:coord:{C}:``): meta, agents, agent:A, workflow, input, contexts, context-order, deps,
dep:D, agent-pending, waiters:agent:A, waiters:resource:ID, waiters:gate:ID, waiters:approval:ID, conditions,
approvals, completed, failed, signals, signal-ids, signal-order, signal-metrics, logs, reply:TOKEN.
Resources and gates are the coordination's own by default (``conditions``, its ``waiters:resource|gate:ID`` sets);
only a dependency declared ``scope: global`` (and the seed's component API) uses the namespace's state and waiters.
Lua builds the same names through ``lua/keys_lib.lua`` (checked against this module by a test).

Namespace-level keys carry the hash tag ``{N}``, per-coordination keys the hash tag ``{C}``, so a Lua script
that touches one coordination's keys stays in one cluster slot. Ids are validated before they get here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from coordination.ids import validate_id


@dataclass(frozen=True)
class CoordinationKeys:
    """The keys of one coordination."""

    base: str

    @property
    def signals(self) -> str:
        """Stream of the coordination's signals."""
        return f"{self.base}:signals"

    @property
    def signal_ids(self) -> str:
        """Hash signal id -> stream entry id, for idempotent emission."""
        return f"{self.base}:signal-ids"

    @property
    def signal_order(self) -> str:
        """List of signal ids in emission order, trimmed with the stream."""
        return f"{self.base}:signal-order"

    @property
    def signal_metrics(self) -> str:
        """Hash of signal counters and propagation figures."""
        return f"{self.base}:signal-metrics"

    @property
    def contexts(self) -> str:
        """Hash agent id -> context JSON."""
        return f"{self.base}:contexts"

    @property
    def context_order(self) -> str:
        """List of agent ids in distribution order."""
        return f"{self.base}:context-order"

    @property
    def dependencies(self) -> str:
        """Set of the coordination's dependency ids."""
        return f"{self.base}:deps"

    def dependency(self, dependency_id: str) -> str:
        """Hash holding one dependency's record."""
        return f"{self.base}:dep:{dependency_id}"

    @property
    def dependency_prefix(self) -> str:
        """Prefix of every dependency record key (Lua scripts append the id)."""
        return f"{self.base}:dep:"

    @property
    def resolution_marks(self) -> str:
        """Hash dependency id -> "1"/"0": seed-style resolution marks of dependencies that were never registered."""
        return f"{self.base}:resolution-marks"

    @property
    def agent_pending(self) -> str:
        """Hash agent id -> number of its dependencies still pending."""
        return f"{self.base}:agent-pending"

    @property
    def completed(self) -> str:
        """Set of agents that completed successfully."""
        return f"{self.base}:completed"

    @property
    def failed(self) -> str:
        """Set of agents that completed with an error."""
        return f"{self.base}:failed"

    @property
    def workflow(self) -> str:
        """String: the validated workflow JSON of a pipeline coordination."""
        return f"{self.base}:workflow"

    @property
    def input(self) -> str:
        """String: the input JSON a pipeline coordination was submitted with."""
        return f"{self.base}:input"

    @property
    def meta(self) -> str:
        """Hash: a pipeline coordination's status, times and counters."""
        return f"{self.base}:meta"

    def agent(self, agent_id: str) -> str:
        """Hash: one agent's run record (status, attempt, times, quality, error, result)."""
        return f"{self.base}:agent:{agent_id}"

    @property
    def agent_prefix(self) -> str:
        """Prefix of the agent run records (Lua scripts append the agent id)."""
        return f"{self.base}:agent:"

    @property
    def agents(self) -> str:
        """List: the agent ids of a pipeline coordination, in dependency order."""
        return f"{self.base}:agents"

    @property
    def logs(self) -> str:
        """Stream of the coordination's agent log lines and tracebacks (capped)."""
        return f"{self.base}:logs"

    def reply(self, token: str) -> str:
        """String: a guarded script's reply, kept briefly for a resend (coordination.store.scripts)."""
        return f"{self.base}:reply:{token}"

    def agent_waiters(self, agent_id: str) -> str:
        """Set of dependency ids waiting for ``agent_id`` to complete."""
        return f"{self.base}:waiters:agent:{agent_id}"

    @property
    def agent_waiters_prefix(self) -> str:
        """Prefix of the agent waiter sets (Lua scripts append the agent id)."""
        return f"{self.base}:waiters:agent:"

    def resource_waiters(self, resource_id: str) -> str:
        """Set of dependency ids of this coordination waiting for its own resource ``resource_id``."""
        return f"{self.base}:waiters:resource:{resource_id}"

    def gate_waiters(self, gate_id: str) -> str:
        """Set of dependency ids of this coordination waiting for its own quality gate ``gate_id``."""
        return f"{self.base}:waiters:gate:{gate_id}"

    def approval_waiters(self, gate_id: str) -> str:
        """Set of dependency ids of this coordination waiting for a verdict on the approval ``gate_id``."""
        return f"{self.base}:waiters:approval:{gate_id}"

    @property
    def conditions(self) -> str:
        """Hash: this coordination's own resources and gates (seed field names, see ``resource_field``) -> JSON."""
        return f"{self.base}:conditions"

    @property
    def approvals(self) -> str:
        """Hash: approval gate id -> its verdict, JSON ``{"verdict", "by", "at_ms", "note"}`` (written once)."""
        return f"{self.base}:approvals"


@dataclass(frozen=True)
class Keys:
    """Key builder for one component namespace under the settings' root prefix."""

    root: str
    namespace: str

    def __post_init__(self) -> None:
        validate_id(self.root, "settings.namespace")
        validate_id(self.namespace, "namespace")

    @cached_property
    def _tagged(self) -> str:
        return f"{self.root}:{{{self.namespace}}}"

    @property
    def namespace_prefix(self) -> str:
        """Prefix of every namespace-level key (Lua scripts append ``:name``)."""
        return self._tagged

    @property
    def state_data(self) -> str:
        """Hash of state values."""
        return f"{self._tagged}:state:data"

    @property
    def state_meta(self) -> str:
        """Hash of state metadata (version)."""
        return f"{self._tagged}:state:meta"

    @property
    def state_log(self) -> str:
        """Stream of state change records."""
        return f"{self._tagged}:state:log"

    @property
    def due(self) -> str:
        """Sorted set of dependency checks by due time (ms)."""
        return f"{self._tagged}:due"

    def resource_waiters(self, resource_id: str) -> str:
        """Set of dependencies waiting for a resource."""
        return f"{self._tagged}:waiters:resource:{resource_id}"

    def gate_waiters(self, gate_id: str) -> str:
        """Set of dependencies waiting for a quality gate."""
        return f"{self._tagged}:waiters:gate:{gate_id}"

    @property
    def dependency_events(self) -> str:
        """Pub/sub channel announcing resolved or timed-out dependencies."""
        return f"{self._tagged}:dep-events"

    @property
    def agents_due(self) -> str:
        """Sorted set of agents beat must look at, by when (ms): lost messages, expired leases."""
        return f"{self._tagged}:agents-due"

    @property
    def beat_heartbeat(self) -> str:
        """Hash: when beat last checked its schedule and last polled (ms)."""
        return f"{self._tagged}:beat"

    @property
    def active(self) -> str:
        """Set of pipeline coordinations still running."""
        return f"{self._tagged}:active"

    @property
    def finished(self) -> str:
        """Sorted set of finished pipeline coordinations by finish time (ms), for archiving and expiry."""
        return f"{self._tagged}:finished"

    def reply(self, token: str) -> str:
        """String: a guarded script's reply, kept briefly for a resend (coordination.store.scripts)."""
        return f"{self._tagged}:reply:{token}"

    def lock(self, name: str) -> str:
        """String: a short lock held by one periodic task run."""
        return f"{self._tagged}:lock:{name}"

    @property
    def routing_history(self) -> str:
        """Stream of persisted routing history records."""
        return f"{self._tagged}:routing"

    @property
    def coordinations(self) -> str:
        """Set of coordination ids seen in this namespace."""
        return f"{self._tagged}:coordinations"

    @property
    def archive_cursors(self) -> str:
        """Hash: source -> last stream id committed to the PostgreSQL archive (see coordination.archive.writer)."""
        return f"{self._tagged}:archive:cursors"

    @property
    def coordination_prefix(self) -> str:
        """Prefix of every per-coordination key (Lua scripts that span coordinations append ``{C}:...``)."""
        return f"{self.root}:{self.namespace}:coord:"

    def coordination(self, coordination_id: str) -> CoordinationKeys:
        """Return the keys of one coordination (the id is validated)."""
        validate_id(coordination_id, "coordination_id")
        return CoordinationKeys(f"{self.coordination_prefix}{{{coordination_id}}}")

    @property
    def pattern(self) -> str:
        """Glob matching every key of this namespace (for clean-up)."""
        return f"{self.root}:*{self.namespace}*"


def dependency_waiters(
    keys: Keys, coordination_id: str, dependency_id: str, dependency_type: str, target: str, scope: str | None
) -> tuple[str, str]:
    """The waiter set a dependency sits in and its member there (``keys_lib.lua``'s ``waiters_key``/``waiter_member``).

    Agent completions, approvals and resources and gates of scope ``run`` wait in their coordination's own sets
    (member: the dependency id); global resources and gates (``scope`` ``global`` or absent) in the namespace's
    (member: ``<cid>/<id>``).
    """
    ck = keys.coordination(coordination_id)
    if dependency_type == "agent_completion":
        return ck.agent_waiters(target), dependency_id
    if dependency_type == "approval":
        return ck.approval_waiters(target), dependency_id
    gate = dependency_type != "resource_availability"
    if scope == "run":
        return (ck.gate_waiters(target) if gate else ck.resource_waiters(target)), dependency_id
    member = f"{coordination_id}/{dependency_id}"
    return (keys.gate_waiters(target) if gate else keys.resource_waiters(target)), member


def metrics_stream(root: str) -> str:
    """Stream of flushed metrics under the root prefix."""
    return f"{root}:metrics"


def store_identity(root: str) -> str:
    """Hash holding the store's generation (see coordination.store.identity)."""
    return f"{root}:store"


def resource_field(resource_id: str) -> str:
    """Field holding a resource's availability (seed name; ``keys_lib.lua`` spells it the same).

    A field of the namespace's state for a global resource, of the coordination's ``conditions`` hash otherwise.
    """
    return f"resource_{resource_id}_available"


def gate_field(gate_id: str) -> str:
    """Field holding a quality gate's score (seed name; ``keys_lib.lua`` spells it the same; see ``resource_field``)."""
    return f"quality_gate_{gate_id}_score"


def archive_cursor(kind: str, subject: str = "") -> str:
    """Field of the archive cursor hash: what the PostgreSQL archive already holds of one source.

    ``rows:<cid>``, ``signals:<cid>``, ``logs:<cid>``, ``state:<namespace>``, ``routing``, ``metrics``.
    """
    return f"{kind}:{subject}" if subject else kind


def key_patterns(root: str) -> list[re.Pattern[str]]:
    """Every key name this module builds under ``root``, as regular expressions (for audits: see the tests).

    Built from the builders themselves, so a key added here is covered; an id part matches any valid id.
    """
    mark = "ID0MARK"
    keys = Keys(root, mark)
    ck = keys.coordination(mark)
    names = [
        *fixed_keys(keys),
        *fixed_keys(ck),
        keys.lock(mark),
        keys.reply(mark),
        keys.resource_waiters(mark),
        keys.gate_waiters(mark),
        ck.agent(mark),
        ck.dependency(mark),
        ck.agent_waiters(mark),
        ck.resource_waiters(mark),
        ck.gate_waiters(mark),
        ck.approval_waiters(mark),
        ck.reply(mark),
        metrics_stream(root),
        store_identity(root),
    ]
    return [re.compile(re.escape(name).replace(mark, "[A-Za-z0-9._-]+")) for name in names]


_PREFIXES = frozenset(
    {"pattern", "namespace_prefix", "coordination_prefix", "dependency_prefix", "agent_prefix", "agent_waiters_prefix"}
)


def fixed_keys(builder: Keys | CoordinationKeys) -> list[str]:
    """Every key a builder names without an argument (what deleting a whole namespace or coordination covers)."""
    return [
        str(getattr(builder, name))
        for name, member in vars(type(builder)).items()
        if isinstance(member, property) and name not in _PREFIXES
    ]


def archive_namespace(root: str, namespace: str) -> str:
    """The namespace archive rows of ``namespace`` carry: ``<root>/<namespace>`` (not a key: ids have no ``/``).

    The root (``COORD_NAMESPACE``) is part of it, so deployments that share one archive database never see, list or
    mark ``lost`` each other's coordinations, and their state-change rows never collide.
    """
    return f"{root}/{namespace}"


def coordination_state_namespace(pipeline_namespace: str, coordination_id: str) -> str:
    """The namespace of the state one pipeline coordination's agents share: ``<pipeline namespace>.<cid>``.

    Never truncated: two ids that differ only at the end must not share a state. Submission checks that it is a
    valid id (128 characters at most) before anything is written.
    """
    return validate_id(f"{pipeline_namespace}.{coordination_id}", "coordination_id (as <pipeline namespace>.<id>)")
