"""Workflow declarations (pure): agents, dependencies, routing and shared intelligence, validated as a whole.

A workflow is declared in YAML, JSON or Python and validated before anything is written: unknown agents,
dependency cycles, bad operators, bad ids and unknown fields are errors that name the field.

A workflow is the project's own declaration, so it stays strict even where it embeds one of the seed's models
(which ignore unknown fields, with a warning, for seed code): those parts are declared with the strict subclasses
below (``extra="forbid"``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from coordination import jsonutil
from coordination.errors import WorkflowError
from coordination.ids import is_valid_id, validate_id
from coordination.limits import (
    MAX_APPROVERS_LENGTH,
    MAX_CONCURRENCY,
    MAX_INTERVAL_MS,
    MAX_LIMITS_PER_AGENT,
    MAX_MAP_ITEMS,
    MAX_RETRIES,
    MAX_ROUTING_WEIGHT,
    MAX_TIMEOUT_SECONDS,
    MAX_TOKEN_COUNT,
)
from coordination.models.base import JsonObject, StrictModel
from coordination.models.context import ResourceAllocation, SharedIntelligence
from coordination.models.dependencies import DependencyType
from coordination.models.fan_out import resolve_over, split_item_id
from coordination.models.routing import (
    ConditionalRule,
    ParallelizationHint,
    PriorityRoutingConfig,
    RoutingDecision,
    RoutingStrategy,
)
from coordination.planning import parse_default_action, topological_order
from coordination.rate_limits import parse_rate, resolved_limits, template_fields
from coordination.validation import input_error

MAX_WORKFLOW_NAME = 64
#: A ``modules`` entry: an absolute dotted Python module name (``mypackage.agents``).
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
MAX_MODULE_NAME = 200

#: A strategy's weight: finite, at least 0, at most MAX_ROUTING_WEIGHT.
RoutingWeight = Annotated[float, Field(ge=0.0, le=MAX_ROUTING_WEIGHT, allow_inf_nan=False)]


class DeclaredResourceAllocation(ResourceAllocation):
    """:class:`ResourceAllocation` as declared in a workflow: an unknown field is an error naming it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DeclaredSharedIntelligence(SharedIntelligence):
    """:class:`SharedIntelligence` as declared in a workflow: an unknown section is an error naming it."""

    model_config = ConfigDict(extra="forbid")


class DeclaredParallelizationHint(ParallelizationHint):
    """:class:`ParallelizationHint` as declared in a workflow: an unknown field is an error naming it."""

    model_config = ConfigDict(extra="forbid")


class DeclaredPriorityRoutingConfig(PriorityRoutingConfig):
    """:class:`PriorityRoutingConfig` as declared in a workflow: an unknown field is an error naming it."""

    model_config = ConfigDict(extra="forbid")


def _as_declared(value: object, seed_model: type[BaseModel], declared: type[BaseModel]) -> object:
    """Let an instance of a seed model stand for its strict variant: the fields it was given are re-validated."""
    if isinstance(value, seed_model) and not isinstance(value, declared):
        return value.model_dump(exclude_unset=True)
    return value


class LimitSpec(StrictModel):
    """A limit on a key the agent names, shared by every worker and coordination of the namespace.

    ``key`` may be a template over the input data (``"tenant:{input.tenant}"``); ``concurrency`` is how many
    attempts may run at once, ``rate`` how many may start per second, minute or hour (``"60/m"``), ``tokens`` how
    many tokens (``run.use_tokens(n)``) may be used per period (``"90000/m"``). At least one of the three.
    """

    key: str
    concurrency: int | None = Field(default=None, ge=1, le=MAX_CONCURRENCY)
    rate: str | None = None
    tokens: str | None = None

    @field_validator("key")
    @classmethod
    def _key_template(cls, value: str) -> str:
        template_fields(value, "key")
        return value

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        return None if value is None else str(parse_rate(value, "rate"))

    @field_validator("tokens")
    @classmethod
    def _tokens(cls, value: str | None) -> str | None:
        return None if value is None else str(parse_rate(value, "tokens", maximum=MAX_TOKEN_COUNT))

    @model_validator(mode="after")
    def _something_limited(self) -> LimitSpec:
        if self.concurrency is None and self.rate is None and self.tokens is None:
            raise WorkflowError("concurrency", "a limit needs at least one of concurrency, rate or tokens")
        return self


class MapSpec(StrictModel):
    """Fan-out over a result: the agent runs once per item of a list in an upstream agent's result.

    ``over`` is ``<upstream agent>.<path>`` (dot-separated keys into that agent's result); the upstream agent must
    be one of this agent's ``depends_on`` (directly: its result must exist when this agent becomes ready).
    ``max_items`` bounds the list: a longer one fails the agent before any item runs.
    """

    over: str = Field(max_length=512)
    max_items: int = Field(ge=1, le=MAX_MAP_ITEMS)

    @field_validator("over")
    @classmethod
    def _over_has_a_path(cls, value: str) -> str:
        agent, dot, path = value.partition(".")
        if not dot or not agent or not path or "" in path.split(".") or not value.isprintable():
            raise ValueError("must be '<upstream agent>.<path in its result>' (keys joined by '.')")
        return value


class AgentSpec(StrictModel):
    """One agent of a workflow.

    ``task`` is the name given to ``@agent(...)`` (default: the agent id). ``depends_on`` lists agents whose
    completion this agent waits for (a shorthand for agent-completion dependencies). An agent with
    ``start: on_branch`` runs only when a routing rule branches to it.
    """

    task: str | None = None
    objective: str = ""
    tasks: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    input_data: JsonObject = Field(default_factory=dict)
    output_requirements: JsonObject = Field(default_factory=dict)
    success_criteria: JsonObject = Field(default_factory=dict)
    resources: DeclaredResourceAllocation = Field(default_factory=DeclaredResourceAllocation)
    priority: int = Field(default=50, ge=0, le=100)
    start: Literal["auto", "on_branch"] = "auto"
    limits: list[LimitSpec] = Field(default_factory=list, max_length=MAX_LIMITS_PER_AGENT)
    map: MapSpec | None = None

    @field_validator("task")
    @classmethod
    def _task_is_an_id(cls, value: str | None) -> str | None:
        return None if value is None else validate_id(value, "task")

    @field_validator("resources", mode="before")
    @classmethod
    def _resources_declared(cls, value: object) -> object:
        return _as_declared(value, ResourceAllocation, DeclaredResourceAllocation)


class DependencySpec(StrictModel):
    """A dependency that one agent (``agent``) waits for before it is enqueued.

    Resources and quality gates belong to their coordination (``scope: run``): ``mark_resource`` and ``set_gate``
    name the coordination, so a value set for one run never opens another. ``scope: global`` shares one value
    across every coordination of the namespace (a database, a deploy slot). An ``approval`` waits for a verdict
    (``approve(cid, gate, by=...)``); ``on_timeout`` (any type) and ``on_reject`` (approvals) declare what happens
    instead of routing: ``fail``, ``skip``, ``continue`` or ``branch:<agent>``.
    """

    id: str
    agent: str
    type: DependencyType
    target: str
    timeout: float = Field(
        default=120.0,
        gt=0,
        le=MAX_TIMEOUT_SECONDS,
        allow_inf_nan=False,
        description="Seconds from submission; fractional allowed; at most 30 days.",
    )
    check_interval_ms: int | None = Field(default=None, ge=0, le=MAX_INTERVAL_MS)
    threshold: float = Field(
        default=0.8, ge=0.0, le=1.0, allow_inf_nan=False, description="Quality gates: the passing score."
    )
    require_success: bool = True
    max_retries: int = Field(
        default=0, ge=0, le=MAX_RETRIES, description="How often a RETRY decision may restart its clock."
    )
    scope: Literal["run", "global"] = Field(
        default="run",
        description="Resources and quality gates: this coordination's own (run) or the namespace's (global).",
    )
    approvers: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_APPROVERS_LENGTH,
        description="Approvals: who may approve (free text, shown with the approval; not enforced).",
    )
    on_timeout: str | None = Field(
        default=None, description="What the time-out does instead of routing: fail, skip, continue, branch:<agent>."
    )
    on_reject: str | None = Field(
        default=None, description="Approvals: what a rejection does instead of routing (as on_timeout)."
    )

    @field_validator("id", "agent", "target")
    @classmethod
    def _is_an_id(cls, value: str) -> str:
        return validate_id(value, "id")

    @field_validator("approvers")
    @classmethod
    def _approvers_text(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or not value.isprintable()):
            raise ValueError(f"must be printable text (no control characters), not blank, got {value[:60]!r}")
        return value

    @field_validator("on_timeout", "on_reject")
    @classmethod
    def _default_action(cls, value: str | None) -> str | None:
        if value is not None:
            parse_default_action(value)  # raises ValueError naming the accepted actions
        return value

    def default_for(self, status: str) -> str | None:
        """The declared default for a settled ``status``: ``on_timeout`` for ``timeout``, else ``on_reject``."""
        return self.on_timeout if status == "timeout" else self.on_reject


class RoutingRuleSpec(ConditionalRule):
    """A conditional rule, optionally limited to some agents (empty ``agents`` = every agent)."""

    model_config = ConfigDict(extra="forbid")

    agents: list[str] = Field(default_factory=list)

    @field_validator("condition_value", mode="after")
    @classmethod
    def _stored_value(cls, value: Any, info: ValidationInfo) -> Any:
        # A workflow is stored as JSON: the value must read back equal (a set becomes a list, NaN is refused).
        return value if info.mode == "json" else jsonutil.normalized(value, "condition_value")

    def rule(self) -> ConditionalRule:
        """Return the plain rule (without ``agents``)."""
        return ConditionalRule(**self.model_dump(exclude={"agents"}))


class StateAnalysisSpec(StrictModel):
    """Settings of the state-analysis router."""

    max_complexity_score: float = Field(default=0.8, ge=0.0, le=1.0, allow_inf_nan=False)
    error_handling_decision: RoutingDecision = RoutingDecision.RETRY


class RoutingSpec(StrictModel):
    """How each agent's outcome is routed (see docs/routing.md for how decisions are consolidated)."""

    rules: list[RoutingRuleSpec] = Field(default_factory=list)
    parallel: list[DeclaredParallelizationHint] = Field(default_factory=list)
    priority: DeclaredPriorityRoutingConfig | None = None
    state_analysis: StateAnalysisSpec | None = None
    weights: dict[RoutingStrategy, RoutingWeight] = Field(default_factory=dict)

    @field_validator("parallel", mode="before")
    @classmethod
    def _hints_declared(cls, value: object) -> object:
        if isinstance(value, list):
            return [_as_declared(hint, ParallelizationHint, DeclaredParallelizationHint) for hint in value]
        return value

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_declared(cls, value: object) -> object:
        return _as_declared(value, PriorityRoutingConfig, DeclaredPriorityRoutingConfig)


class WorkflowSpec(StrictModel):
    """A whole workflow, validated as a unit."""

    name: str
    description: str = ""
    modules: list[str] = Field(default_factory=list, description="Modules that define the agents' tasks.")
    agents: dict[str, AgentSpec] = Field(min_length=1)
    dependencies: list[DependencySpec] = Field(default_factory=list)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    shared_intelligence: DeclaredSharedIntelligence = Field(default_factory=DeclaredSharedIntelligence)
    limits: list[LimitSpec] = Field(default_factory=list, max_length=MAX_LIMITS_PER_AGENT)
    queue: str | None = Field(
        None,
        description="The Celery queue its agents' messages go to, whoever sends them (default: the "
        "COORD_TASK_QUEUE of the process that submits it, stored with the coordination).",
    )

    @field_validator("queue")
    @classmethod
    def _queue_is_an_id(cls, value: str | None) -> str | None:
        return None if value is None else validate_id(value, "queue")

    @field_validator("shared_intelligence", mode="before")
    @classmethod
    def _shared_declared(cls, value: object) -> object:
        return _as_declared(value, SharedIntelligence, DeclaredSharedIntelligence)

    @field_validator("name")
    @classmethod
    def _name_is_short_id(cls, value: str) -> str:
        validate_id(value, "name")
        if len(value) > MAX_WORKFLOW_NAME:
            raise ValueError(f"must be at most {MAX_WORKFLOW_NAME} characters (it prefixes coordination ids)")
        return value

    @field_validator("modules")
    @classmethod
    def _modules_are_module_names(cls, value: list[str]) -> list[str]:
        for index, module in enumerate(value):
            problem = module_name_problem(module)
            if problem is not None:
                raise WorkflowError(f"modules[{index}]", problem)
        return value

    @model_validator(mode="after")
    def _stored_form_reads_back(self, info: ValidationInfo) -> WorkflowSpec:
        # The spec is stored as JSON and read back by workers: every value must pass the one JSON rule (a lone
        # surrogate in a description, say, is refused here rather than when the spec is written).
        if info.mode != "json":
            jsonutil.dumps(self.model_dump(mode="python"), "")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> WorkflowSpec:
        for agent_id, agent_spec in self.agents.items():
            validate_id(agent_id, "agents")
            for target in agent_spec.depends_on:
                derived = f"{agent_id}.after.{target}"
                if not is_valid_id(derived):
                    raise WorkflowError(
                        f"agents.{agent_id}.depends_on",
                        f"the dependency id {derived[:40]!r}... it stands for is over 128 characters; use shorter ids",
                    )
            if agent_spec.map is not None:
                self._check_map(agent_id, agent_spec, agent_spec.map)
        seen: set[str] = set()
        for index, dependency in enumerate(self.dependencies):
            where = f"dependencies[{index}]"
            if dependency.id in seen:
                raise WorkflowError(f"{where}.id", f"duplicate dependency id {dependency.id!r}")
            seen.add(dependency.id)
            if dependency.agent not in self.agents:
                raise WorkflowError(f"{where}.agent", f"unknown agent {dependency.agent!r}")
            if dependency.type is DependencyType.AGENT_COMPLETION and dependency.target not in self.agents:
                raise WorkflowError(f"{where}.target", f"unknown agent {dependency.target!r}")
            self._check_kind_fields(where, dependency)
        for index, rule in enumerate(self.routing.rules):
            for agent in rule.agents:
                if agent not in self.agents:
                    raise WorkflowError(f"routing.rules[{index}].agents", f"unknown agent {agent!r}")
            if rule.decision is RoutingDecision.BRANCH and not rule.next_task:
                raise WorkflowError(f"routing.rules[{index}].next_task", "a branch rule needs a next_task")
            if rule.next_task is not None and rule.next_task not in self.agents:
                raise WorkflowError(f"routing.rules[{index}].next_task", f"unknown agent {rule.next_task!r}")
        for index, hint in enumerate(self.routing.parallel):
            for agent in [*hint.task_group, *hint.dependencies]:
                if agent not in self.agents:
                    raise WorkflowError(f"routing.parallel[{index}]", f"unknown agent {agent!r}")
        topological_order(self.upstream(), "agents")
        return self

    def _check_map(self, agent_id: str, agent_spec: AgentSpec, fan_out: MapSpec) -> None:
        """The upstream agent of a ``map`` exists and is awaited directly; item ids are valid and unambiguous."""
        where = f"agents.{agent_id}.map"
        resolved = resolve_over(fan_out.over, self.agents)
        if resolved is None:
            upstream = fan_out.over.partition(".")[0]
            raise WorkflowError(f"{where}.over", f"names no agent of this workflow ({upstream!r}...)")
        upstream, _path = resolved
        if upstream == agent_id:
            raise WorkflowError(f"{where}.over", "an agent cannot map over its own result")
        if upstream not in agent_spec.depends_on:
            raise WorkflowError(
                f"{where}.over", f"{upstream!r} must be in agents.{agent_id}.depends_on (its result must exist first)"
            )
        # Item ids ('<agent>.<index>', at most 5 more characters) always fit: the agent id already fits in the id
        # of its depends_on dependency ('<agent>.after.<upstream>', at least 8 more).
        for other in self.agents:
            prefix, dot, index = other.rpartition(".")
            if other != agent_id and dot and prefix == agent_id and index.isdigit():
                raise WorkflowError(f"agents.{other}", f"clashes with the ids of the items of map agent {agent_id!r}")

    def map_agents(self) -> dict[str, MapSpec]:
        """Map agent id -> its ``map`` declaration."""
        return {agent_id: spec.map for agent_id, spec in self.agents.items() if spec.map is not None}

    def _check_kind_fields(self, where: str, dependency: DependencySpec) -> None:
        """Fields that only some dependency types take, and the agents a declared default branches to."""
        kind = dependency.type
        if dependency.scope == "global" and kind not in (
            DependencyType.RESOURCE_AVAILABILITY,
            DependencyType.QUALITY_GATE,
        ):
            raise WorkflowError(
                f"{where}.scope",
                f"only resource_availability and quality_gate dependencies can be global; {kind.value} belongs to "
                "its coordination",
            )
        if kind is not DependencyType.APPROVAL:
            for name in ("approvers", "on_reject"):
                if getattr(dependency, name) is not None:
                    raise WorkflowError(f"{where}.{name}", f"only approval dependencies take it, not {kind.value}")
        for name in ("on_timeout", "on_reject"):
            declared = getattr(dependency, name)
            if declared is None:
                continue
            _action, branch_to = parse_default_action(declared)
            if branch_to is not None and branch_to not in self.agents:
                raise WorkflowError(f"{where}.{name}", f"branches to unknown agent {branch_to!r}")
            if branch_to == dependency.agent:
                raise WorkflowError(f"{where}.{name}", "cannot branch to the agent that waits on the dependency")

    def upstream(self) -> dict[str, list[str]]:
        """Agent id -> the agents whose completion it waits for (``depends_on`` and completion dependencies)."""
        graph = {agent_id: list(spec.depends_on) for agent_id, spec in self.agents.items()}
        for dependency in self.dependencies:
            if dependency.type is DependencyType.AGENT_COMPLETION and dependency.target not in graph[dependency.agent]:
                graph[dependency.agent].append(dependency.target)
        return graph

    def all_dependencies(self) -> list[DependencySpec]:
        """Every dependency, with ``depends_on`` shorthands expanded (id ``<agent>.after.<target>``)."""
        expanded = list(self.dependencies)
        declared = {(d.agent, d.target) for d in self.dependencies if d.type is DependencyType.AGENT_COMPLETION}
        for agent_id, spec in self.agents.items():
            for target in spec.depends_on:
                if (agent_id, target) not in declared:
                    expanded.append(
                        DependencySpec(
                            id=f"{agent_id}.after.{target}",
                            agent=agent_id,
                            type=DependencyType.AGENT_COMPLETION,
                            target=target,
                            # Ten times the agent's execution time, within the bound on every time-out.
                            timeout=min(spec.resources.max_execution_time_ms / 100, MAX_TIMEOUT_SECONDS),
                        )
                    )
        return expanded

    def has_limits(self, agent_id: str) -> bool:
        """Whether ``agent_id`` runs under any limit (its own, or the workflow's, which apply to every agent)."""
        return bool(self.limits or self.agents[agent_id].limits)

    def resolved_limits(self, agent_id: str, input_data: Any) -> list[dict[str, Any]]:
        """The limits ``agent_id`` runs under, with their keys filled in from ``input_data`` (as the store reads them).

        The workflow's ``limits`` apply to every agent; an agent's own limit on a key replaces the workflow's on
        that (filled-in) key.

        Raises:
            InvalidInputError: names the limit's field (``agents.<id>.limits[0].key``, ``limits[0].rate``).
        """
        own = resolved_limits(self.agents[agent_id].limits, input_data, f"agents.{agent_id}.limits")
        mine = {item["key"] for item in own}
        shared = resolved_limits(self.limits, input_data, "limits")
        return [item for item in shared if item["key"] not in mine] + own

    def task_name(self, agent_id: str) -> str:
        """The registered ``@agent`` name that runs ``agent_id`` (an item of a map agent runs the agent's task)."""
        if agent_id not in self.agents:
            found = split_item_id(agent_id, self.map_agents())
            if found is not None:
                agent_id = found[0]
        return self.agents[agent_id].task or agent_id

    def owner_of(self, agent_id: str) -> str | None:
        """The declared agent that runs ``agent_id``: itself, or the map agent of an item id; None if neither."""
        if agent_id in self.agents:
            return agent_id
        found = split_item_id(agent_id, self.map_agents())
        return None if found is None else found[0]

    def order(self) -> list[str]:
        """Agents in dependency order."""
        return topological_order(self.upstream(), "agents")


def module_name_problem(module: object) -> str | None:
    """Why ``module`` cannot be a ``modules`` entry (an absolute dotted Python name), or None when it can be."""
    if not isinstance(module, str):
        return f"must be a module name (a string), got {type(module).__name__}"
    shown = module if len(module) <= 60 else module[:57] + "..."
    if not module.strip():
        return "must be a module name, got an empty string"
    if len(module) > MAX_MODULE_NAME:
        return f"{shown!r} is longer than {MAX_MODULE_NAME} characters"
    if module.startswith("."):
        return f"{shown!r} is relative; write the absolute module name (mypackage.agents)"
    if "/" in module or "\\" in module or module.endswith(".py"):
        return f"{shown!r} is a path; write the module name (mypackage.agents for mypackage/agents.py)"
    if MODULE_NAME.fullmatch(module) is None:
        return f"{shown!r} is not a dotted Python module name (letters, digits and '_', parts joined by '.')"
    return None


def declared_spec(declaration: Any) -> WorkflowSpec:
    """Validate a workflow declaration (a dict, e.g. a parsed YAML/JSON document) as a whole.

    Raises:
        WorkflowError: the declaration is invalid; the message names the field.
    """
    if not isinstance(declaration, dict):
        raise WorkflowError("workflow", f"must be a mapping, got {type(declaration).__name__}")
    try:
        return WorkflowSpec.model_validate(declaration)
    except ValidationError as error:
        raise input_error(error, error_class=WorkflowError, default_field="workflow") from None
