"""State models (pure): change records and the seed's typed state shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from coordination import jsonutil
from coordination.models.base import utcnow
from coordination.models.seed import FrozenSeedModel, SeedModel


class StateChangeRecord(FrozenSeedModel):
    """One change of a :class:`~coordination.state.ThreadSafeState`, as kept in its change log."""

    timestamp: datetime = Field(default_factory=utcnow)
    version: int = Field(ge=0)
    key: str = Field(min_length=1)
    operation: str = Field(pattern=r"^(set|delete|update|clear)$")
    old_value: Any | None = None
    new_value: Any | None = None
    changed_by: str | None = None


def cleared_values(fields: dict[str, str]) -> dict[str, str]:
    """Key -> stored JSON text of every key a ``clear`` change-log entry holds (see ``state_write.lua``).

    The entry keeps them in one field, ``snap``: a JSON array ``[key, value, key, value, ...]``, so a clear of any
    number of keys is one entry. Entries written before that field existed have one ``s:<key>`` field per key.
    """
    if "snap" in fields:
        flat = jsonutil.loads(fields["snap"])
        return dict(zip(flat[::2], flat[1::2], strict=True))
    return {name[2:]: raw for name, raw in fields.items() if name.startswith("s:")}


class AgentCoordinationState(SeedModel):
    """Shape of a multi-agent session's shared state (seed model)."""

    session_id: str
    agent_count: int = Field(ge=0)
    completed_agents: list[str] = Field(default_factory=list)
    shared_context: dict[str, Any] = Field(default_factory=dict)
    generated_files: list[str] = Field(default_factory=list)
    current_phase: str = "initialization"


class CodeGenerationState(SeedModel):
    """Shape of a code-generation workflow's shared state (seed model)."""

    workflow_id: str
    contracts_parsed: dict[str, Any] = Field(default_factory=dict)
    generated_models: dict[str, str] = Field(default_factory=dict)
    generated_validators: dict[str, str] = Field(default_factory=dict)
    generated_tests: dict[str, str] = Field(default_factory=dict)
    type_registry: dict[str, str] = Field(default_factory=dict)
    import_statements: list[str] = Field(default_factory=list)
    quality_metrics: dict[str, float] = Field(default_factory=dict)
