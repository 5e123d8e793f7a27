"""One error tree for the whole coordination package.

::

    CoordinationError                                   root of everything this package raises
    ├── InvalidInputError (ValueError)                  bad input; names the field; nothing was written
    │   ├── InvalidIdError                              id outside ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$
    │   ├── PayloadTooLargeError                        event data / context / value over its size limit
    │   ├── NotSerializableError                        value that JSON cannot represent
    │   ├── UnknownSignalTypeError                      event type that is not a SignalType
    │   ├── RoutingRuleError                            unknown operator or wrong value shape for it
    │   ├── WorkflowError                               unknown agents, cycles, bad declarations
    │   └── ContextDistributionError (RuntimeError)     one agent's context cannot be built (seed wording)
    ├── CoordinationNotFoundError (KeyError)            no such coordination (never submitted, or expired)
    ├── AttemptCancelledError                           an agent's coordination ended while it ran (stop)
    ├── AgentAttemptFailed                              an agent attempt failed (the Celery task's FAILURE)
    ├── ServiceUnavailableError (ConnectionError)       transient: a service is unreachable; safe to retry
    │   ├── StoreUnavailableError                       Redis (after the client's own retries)
    │   └── ArchiveUnavailableError                     PostgreSQL (or the archive tables are missing)
    ├── ThreadSafeStateError                            (seed)
    │   ├── StateKeyError (KeyError)
    │   ├── StateVersionError (ValueError)              expected_version conflict / bad rollback target
    │   ├── StateRollbackError                          target no longer in history
    │   └── StateLockTimeoutError (TimeoutError)
    └── DependencyResolutionError                       (seed)
        └── DependencyTimeoutError (TimeoutError)

The seed's exception names, constructor parameters, attributes and message formats are kept.
"""

from __future__ import annotations

from typing import Any


class CoordinationError(Exception):
    """Root of every error raised by the coordination package."""


class InvalidInputError(CoordinationError, ValueError):
    """Input was refused before anything was written.

    Attributes:
        field: the name of the offending argument or model field.
        problem: what is wrong with it.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class InvalidIdError(InvalidInputError):
    """An id (coordination, agent, dependency, resource, gate, namespace) that cannot become a key."""


class PayloadTooLargeError(InvalidInputError):
    """Event data, a context or a state value larger than the configured limit."""


class NotSerializableError(InvalidInputError):
    """A value that JSON cannot represent (only JSON is stored and sent)."""


class UnknownSignalTypeError(InvalidInputError):
    """An event type that is not one of :class:`~coordination.models.signals.SignalType`."""


class RoutingRuleError(InvalidInputError):
    """A routing rule with an unknown operator or a value of the wrong shape for its operator."""


class WorkflowError(InvalidInputError):
    """A workflow declaration that cannot run (unknown agents, dependency cycles, ...)."""


class CoordinationNotFoundError(CoordinationError, KeyError):
    """No coordination of that id: never submitted, or finished and expired (the archive may still know it).

    A ``KeyError`` too, so callers written against earlier versions keep working.
    """

    def __init__(self, coordination_id: str, where: str = "in Redis") -> None:
        self.coordination_id = coordination_id
        super().__init__(f"no coordination {coordination_id!r} {where}")

    def __str__(self) -> str:
        return str(self.args[0])


class AgentAttemptFailed(CoordinationError):
    """An agent attempt failed: the Celery task ends in FAILURE with this (the agent's own error is chained).

    Attributes:
        summary: what the attempt did (agent, attempt, status, decision), as the coordination's records say.
    """

    def __init__(self, error: str, summary: dict[str, Any] | None = None) -> None:
        self.summary = summary or {}
        super().__init__(error)


class ContextDistributionError(InvalidInputError, RuntimeError):
    """One agent's context could not be built from its assignment, allocation or protocols; nothing was written.

    The seed raised ``RuntimeError("Context distribution failed for agent '<id>': ...")`` here, and its guide
    catches ``RuntimeError``; this error is that ``RuntimeError`` (with the seed's wording) and an
    :class:`InvalidInputError` naming the field, so both kinds of caller find it.
    """

    def __init__(self, field: str, agent_id: str, problem: str) -> None:
        self.agent_id = agent_id
        super().__init__(field, f"Context distribution failed for agent {agent_id!r}: {problem}")


class AttemptCancelledError(CoordinationError):
    """Raised inside an agent (``run.raise_if_cancelled()``) when its coordination has ended: stop working.

    The attempt is recorded as skipped, with the reason; nothing starts after it.
    """


class ServiceUnavailableError(CoordinationError, ConnectionError):
    """A service the package needs could not be reached. Transient: retrying is safe."""


class StoreUnavailableError(ServiceUnavailableError):
    """The coordination store (Redis) could not be reached. Transient: retrying is safe."""


class ArchiveUnavailableError(ServiceUnavailableError):
    """The archive database could not be reached, did not answer in time, or is not migrated."""


class ThreadSafeStateError(CoordinationError):
    """Base class for state errors (seed name)."""


class StateKeyError(ThreadSafeStateError, KeyError):
    """A required key is missing from the state."""

    def __init__(self, key: str, available_keys: list[str]) -> None:
        self.key = key
        self.available_keys = available_keys
        shown = ", ".join(available_keys[:10])
        if len(available_keys) > 10:
            shown += "..."
        super().__init__(f"Key '{key}' not found in state. Available keys: {shown}")

    def __str__(self) -> str:
        return str(self.args[0])


class StateVersionError(ThreadSafeStateError, ValueError):
    """A version conflict or an invalid version argument."""

    def __init__(self, message: str, current_version: int, target_version: int) -> None:
        self.message = message
        self.current_version = current_version
        self.target_version = target_version
        super().__init__(f"{message} (current: {current_version}, target: {target_version})")


class StateRollbackError(ThreadSafeStateError):
    """A rollback that the retained history cannot serve."""

    def __init__(self, message: str, target_version: int, oldest_version: int | None = None) -> None:
        self.message = message
        self.target_version = target_version
        self.oldest_version = oldest_version
        super().__init__(f"{message} (target: {target_version}, oldest: {oldest_version})")


class StateLockTimeoutError(ThreadSafeStateError, TimeoutError):
    """Kept for compatibility: state operations are single Lua scripts and take no lock."""

    def __init__(self, timeout: float, operation: str) -> None:
        self.timeout = timeout
        self.operation = operation
        super().__init__(f"Lock acquisition timeout after {timeout}s for operation: {operation}")


class DependencyResolutionError(CoordinationError):
    """A dependency could not be resolved (seed name and message format)."""

    def __init__(self, coordination_id: str, dependency_id: str, error_message: str) -> None:
        self.coordination_id = coordination_id
        self.dependency_id = dependency_id
        self.error_message = error_message
        super().__init__(
            f"Dependency resolution failed for dependency '{dependency_id}' in coordination session "
            f"'{coordination_id}': {error_message}"
        )


class DependencyTimeoutError(DependencyResolutionError, TimeoutError):
    """A dependency was not satisfied before its time-out; it is recorded as TIMEOUT."""

    def __init__(self, coordination_id: str, dependency_id: str, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        shown: Any = int(timeout_seconds) if float(timeout_seconds).is_integer() else timeout_seconds
        super().__init__(coordination_id, dependency_id, f"Timeout after {shown}s")
