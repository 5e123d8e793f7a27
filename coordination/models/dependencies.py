"""Dependency models (pure): the seed's dataclasses, with precise (fractional) time-outs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import Enum
from typing import Any

from coordination.errors import InvalidInputError
from coordination.limits import MAX_RETRIES, MAX_TIMEOUT_SECONDS
from coordination.models.base import utcnow
from coordination.models.seed import warn_unknown_fields


class DependencyType(str, Enum):
    """What a dependency waits for."""

    AGENT_COMPLETION = "agent_completion"
    RESOURCE_AVAILABILITY = "resource_availability"
    QUALITY_GATE = "quality_gate"
    #: A person's verdict on a gate of one coordination (``approve(cid, gate, by=...)``; not in the seed).
    APPROVAL = "approval"


class DependencyStatus(str, Enum):
    """Where a dependency stands."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    FAILED = "failed"
    TIMEOUT = "timeout"


def _as_enum(enum: type[Enum], value: Any, name: str) -> Any:
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum)
        # The seed's wording (the enum's own ValueError), with the field and the accepted values.
        problem = f"{value!r} is not a valid {enum.__name__} (expected one of: {allowed})"
        raise InvalidInputError(name, problem) from None


@dataclass(init=False)
class Dependency:
    """One dependency of a coordination (seed dataclass).

    ``timeout`` is in seconds and may be fractional; it must be positive and at most 30 days. ``max_retries`` is
    at most 100. ``metadata`` may carry
    ``check_interval_ms`` (re-check period for conditions that can change without an event), ``threshold``
    (quality gates, default 0.8), ``agent_id`` (agent completions), ``require_success`` (default True) and
    ``scope`` (resources and quality gates: ``"global"``, the default here, reads the namespace's value as the seed
    did; ``"run"`` reads the coordination's own, set with ``mark_resource``/``set_gate(..., coordination_id=)``).

    Unknown keyword arguments are ignored and reported once (a
    :class:`~coordination.models.seed.SeedCompatibilityWarning`), so seed code passing extra fields keeps working;
    they are not stored.

    Raises:
        InvalidInputError: a non-positive ``timeout`` ("Timeout must be positive", as in the seed), a negative
            ``max_retries``, an unknown type or status, a ``metadata`` that is not a dict.
    """

    dependency_id: str
    dependency_type: DependencyType
    target: str
    timeout: float = 120
    retry_count: int = 0
    max_retries: int = 3
    metadata: dict[str, Any] = field(default_factory=dict)
    status: DependencyStatus = DependencyStatus.PENDING
    resolved_at: datetime | None = None
    error_message: str | None = None

    def __init__(
        self,
        dependency_id: str,
        dependency_type: DependencyType | str,
        target: str,
        timeout: float = 120,
        retry_count: int = 0,
        max_retries: int = 3,
        metadata: dict[str, Any] | None = None,
        status: DependencyStatus | str = DependencyStatus.PENDING,
        resolved_at: datetime | None = None,
        error_message: str | None = None,
        **unknown_fields: Any,
    ) -> None:
        if unknown_fields:
            warn_unknown_fields("Dependency", unknown_fields, DEPENDENCY_FIELDS)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:  # also NaN
            raise InvalidInputError("timeout", f"Timeout must be positive, got {timeout!r} (seconds)")
        if timeout > MAX_TIMEOUT_SECONDS:
            raise InvalidInputError(
                "timeout", f"must be at most {MAX_TIMEOUT_SECONDS} seconds (30 days), got {timeout!r}"
            )
        for name, count in (("max_retries", max_retries), ("retry_count", retry_count)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise InvalidInputError(name, f"{name} must be non-negative, got {count!r}")
            if count > MAX_RETRIES:
                raise InvalidInputError(name, f"must be an integer from 0 to {MAX_RETRIES}, got {count!r}")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            raise InvalidInputError("metadata", f"must be a dict, got {type(metadata).__name__}")
        self.dependency_id = dependency_id
        self.dependency_type = _as_enum(DependencyType, dependency_type, "dependency_type")
        self.target = target
        self.timeout = timeout
        self.retry_count = retry_count
        self.max_retries = max_retries
        self.metadata = metadata
        self.status = _as_enum(DependencyStatus, status, "status")
        self.resolved_at = resolved_at
        self.error_message = error_message

    def mark_resolved(self) -> None:
        """Record success."""
        self.status = DependencyStatus.RESOLVED
        self.resolved_at = utcnow()

    def mark_failed(self, error_message: str) -> None:
        """Record failure."""
        self.status = DependencyStatus.FAILED
        self.error_message = error_message

    def mark_timeout(self) -> None:
        """Record a time-out."""
        self.status = DependencyStatus.TIMEOUT
        self.error_message = f"Dependency '{self.dependency_id}' timed out after {self.timeout}s"

    def increment_retry(self) -> bool:
        """Count a retry; return whether another one is allowed."""
        self.retry_count += 1
        return self.retry_count <= self.max_retries

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        data = asdict(self)
        data["dependency_type"] = self.dependency_type.value
        data["status"] = self.status.value
        data["resolved_at"] = self.resolved_at.isoformat() if self.resolved_at else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dependency:
        """Build from :meth:`to_dict` output (unknown keys are ignored and reported once, as for the constructor)."""
        values = dict(data)
        resolved_at = values.get("resolved_at")
        if isinstance(resolved_at, str):
            values["resolved_at"] = datetime.fromisoformat(resolved_at)
        return cls(**values)


@dataclass
class DependencyResolutionResult:
    """Outcome of resolving one dependency."""

    coordination_id: str
    dependency_id: str
    success: bool
    status: DependencyStatus
    duration_ms: float
    attempts: int = 1
    error_message: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass
class AgentCompletionConfig:
    """Configuration of an agent-completion dependency."""

    agent_id: str
    completion_event: str = "completion"
    require_success: bool = True

    def to_metadata(self) -> dict[str, Any]:
        """Return the dependency metadata."""
        return asdict(self)


@dataclass
class ResourceAvailabilityConfig:
    """Configuration of a resource-availability dependency."""

    resource_id: str
    resource_type: str
    check_interval_ms: int = 100
    availability_threshold: float = 1.0

    def to_metadata(self) -> dict[str, Any]:
        """Return the dependency metadata."""
        return asdict(self)


@dataclass
class QualityGateConfig:
    """Configuration of a quality-gate dependency."""

    gate_id: str
    gate_type: str
    threshold: float
    check_interval_ms: int = 500

    def to_metadata(self) -> dict[str, Any]:
        """Return the dependency metadata."""
        return asdict(self)


#: The fields of :class:`Dependency` (what its constructor and ``from_dict`` accept).
DEPENDENCY_FIELDS: frozenset[str] = frozenset(f.name for f in fields(Dependency))
