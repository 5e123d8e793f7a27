"""Context models (pure): the package of information each agent of a coordination receives.

Field names, defaults and constraints are the seed's. Differences:

* unknown fields are ignored, as in the seed, but reported once per model and field with a
  :class:`~coordination.models.seed.SeedCompatibilityWarning` (``ResourceAllocation(max_cpu_cores=2)`` works and
  stores nothing of ``max_cpu_cores``); inside a workflow declaration they are errors;
* timestamps are timezone-aware UTC (naive input is taken as UTC);
* :class:`CoordinationMetadata` keeps its identity fields frozen but lets ``agent_id`` and ``agent_role`` be
  reassigned (validated), so the seed guide's "reuse a template context" recipe runs;
* :class:`ContextUpdateRequest` refuses an ``update_type`` that is not a section of
  :class:`SharedIntelligence` (the seed accepted it and then reported ``False`` for every agent).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator

from coordination.ids import validate_id
from coordination.jsonutil import MAX_SAFE_INTEGER
from coordination.limits import MAX_CONCURRENCY, MAX_DURATION_MS, MAX_INTERVAL_MS, MAX_MEMORY_MB, MAX_RETRIES
from coordination.models.base import JsonObject, utcnow
from coordination.models.seed import FrozenSeedModel, SeedModel


def _as_utc(value: datetime) -> datetime:
    # The seed wrote naive utcnow() values: a naive timestamp means UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]

#: The sections of :class:`SharedIntelligence`, i.e. the accepted ``ContextUpdateRequest.update_type`` values.
SHARED_INTELLIGENCE_SECTIONS: Final[tuple[str, ...]] = (
    "type_registry",
    "pattern_library",
    "validation_rules",
    "naming_conventions",
    "dependency_graph",
)


class CoordinationMetadata(SeedModel):
    """Who the context is for and which coordination it belongs to.

    The seed froze the whole model, which broke its own "reuse a template context" recipe
    (``context.coordination_metadata.agent_id = other``). Here the coordination identity (``session_id``,
    ``coordination_id``, ``parent_workflow_id``, ``created_at``) stays frozen while ``agent_id`` and
    ``agent_role`` may be reassigned; every assignment is validated.
    """

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    session_id: str = Field(frozen=True)
    coordination_id: str = Field(frozen=True)
    agent_id: str
    agent_role: str
    parent_workflow_id: str | None = Field(default=None, frozen=True)
    created_at: UtcDatetime = Field(default_factory=utcnow, frozen=True)

    @field_validator("coordination_id", "agent_id")
    @classmethod
    def _is_an_id(cls, value: str, info: ValidationInfo) -> str:
        # These two become parts of Redis keys / hash fields, so they follow the id rule.
        return validate_id(value, info.field_name or "id")


class SharedIntelligence(SeedModel):
    """Knowledge shared by every agent of a coordination (each section is updatable as a whole dict).

    The free-form sections hold JSON values under the package's one rule (sets, datetimes, NaN, ... are refused
    when the model is built, with the path named).
    """

    type_registry: JsonObject = Field(default_factory=dict)
    pattern_library: dict[str, list[str]] = Field(default_factory=dict)
    validation_rules: JsonObject = Field(default_factory=dict)
    naming_conventions: dict[str, str] = Field(default_factory=dict)
    dependency_graph: dict[str, list[str]] = Field(default_factory=dict)


class AgentAssignment(SeedModel):
    """What one agent has to do."""

    objective: str
    tasks: list[str]
    input_data: dict[str, Any] = Field(default_factory=dict)
    dependencies: list[str] = Field(default_factory=list)
    output_requirements: dict[str, Any] = Field(default_factory=dict)
    success_criteria: dict[str, Any] = Field(default_factory=dict)


class CoordinationProtocols(FrozenSeedModel):
    """How an agent is expected to report (informational: nothing in the package enforces these)."""

    update_interval_ms: int = Field(default=5000, ge=100, le=MAX_INTERVAL_MS)
    heartbeat_interval_ms: int = Field(default=10000, ge=100, le=MAX_INTERVAL_MS)
    status_update_channel: str = "state"
    result_delivery_channel: str = "state"
    error_reporting_channel: str = "state"
    coordination_endpoint: str | None = None


class ResourceAllocation(FrozenSeedModel):
    """Limits granted to an agent (informational: agents read them; the distributor does not enforce them).

    Every number is bounded (``coordination/limits.py``): times at most 30 days, at most 100 retries.
    """

    max_execution_time_ms: int = Field(default=300000, ge=1000, le=MAX_DURATION_MS)
    max_retry_attempts: int = Field(default=3, ge=0, le=MAX_RETRIES)
    max_memory_mb: int = Field(default=512, ge=1, le=MAX_MEMORY_MB)
    quality_threshold: float = Field(default=0.8, ge=0.0, le=1.0, allow_inf_nan=False)
    timeout_ms: int = Field(default=30000, ge=100, le=MAX_DURATION_MS)
    concurrency_limit: int = Field(default=10, ge=1, le=MAX_CONCURRENCY)


class AgentContext(SeedModel):
    """The complete context package of one agent, as stored (JSON) in the coordination's context hash."""

    coordination_metadata: CoordinationMetadata
    shared_intelligence: SharedIntelligence
    agent_assignment: AgentAssignment
    coordination_protocols: CoordinationProtocols
    resource_allocation: ResourceAllocation
    context_version: int = Field(default=1, ge=1, le=MAX_SAFE_INTEGER)


class ContextDistributionMetrics(SeedModel):
    """Figures of one distribution (seed model; kept for compatibility)."""

    distribution_time_ms: float
    context_size_bytes: int
    agent_count: int = Field(ge=1)
    shared_intelligence_size_bytes: int
    success: bool
    error_message: str | None = None


class ContextUpdateRequest(SeedModel):
    """A change to one section of the shared intelligence of some (or all) agents of a coordination.

    ``target_agents`` None or empty means every agent of the coordination.
    """

    coordination_id: str
    update_type: str
    update_data: dict[str, Any]
    target_agents: list[str] | None = None
    increment_version: bool = True

    @field_validator("update_type")
    @classmethod
    def _is_a_section(cls, value: str) -> str:
        if value not in SHARED_INTELLIGENCE_SECTIONS:
            raise ValueError(
                f"{value!r} is not a SharedIntelligence section; expected one of "
                + ", ".join(SHARED_INTELLIGENCE_SECTIONS)
            )
        return value


__all__ = [
    "SHARED_INTELLIGENCE_SECTIONS",
    "AgentAssignment",
    "AgentContext",
    "ContextDistributionMetrics",
    "ContextUpdateRequest",
    "CoordinationMetadata",
    "CoordinationProtocols",
    "ResourceAllocation",
    "SharedIntelligence",
]
