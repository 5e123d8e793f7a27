"""Signal models (pure): the seed's signal types and payload shapes.

Unknown fields are ignored with a warning, as the seed ignored them (see :mod:`coordination.models.seed`).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any
from uuid import uuid4

from pydantic import ConfigDict, Field

from coordination.models.base import utcnow
from coordination.models.seed import SeedModel


class SignalType(str, Enum):
    """Kinds of coordination signals (the seed's six, plus the pipeline's lifecycle and approval signals)."""

    AGENT_INITIALIZED = "agent_initialized"
    AGENT_COMPLETED = "agent_completed"
    DEPENDENCY_RESOLVED = "dependency_resolved"
    INTER_AGENT_MESSAGE = "inter_agent_message"
    STAGE_COMPLETED = "stage_completed"
    ERROR_RECOVERY_COMPLETED = "error_recovery_completed"
    COORDINATION_STARTED = "coordination_started"
    COORDINATION_FINISHED = "coordination_finished"
    AGENT_FAILED = "agent_failed"
    AGENT_SKIPPED = "agent_skipped"
    AGENT_RETRYING = "agent_retrying"
    DEPENDENCY_TIMEOUT = "dependency_timeout"
    #: A verdict on an approval gate (who, approved or rejected, note): ``approve(cid, gate, by=...)``.
    APPROVAL_VERDICT = "approval_verdict"
    #: A running attempt's progress (``run.progress(fraction, message)``); live only, not archived.
    AGENT_PROGRESS = "agent_progress"
    #: A chunk of text a running attempt streams (``run.stream(text)``); live only, not archived.
    AGENT_STREAM = "agent_stream"


SIGNAL_TYPE_VALUES = frozenset(member.value for member in SignalType)
#: Each type by its value (a dict lookup: cheaper than ``SignalType(value)`` on the hot paths that decode).
SIGNAL_TYPES = {member.value: member for member in SignalType}


class CoordinationSignal(SeedModel):
    """One signal of a coordination, as stored in its stream and delivered to subscribers."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    signal_id: str = Field(default_factory=lambda: str(uuid4()))
    signal_type: SignalType
    sender_agent_id: str = Field(min_length=1, max_length=128)
    recipient_agents: list[str] = Field(default_factory=list)
    timestamp: datetime = Field(default_factory=utcnow)
    event_data: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    coordination_id: str = Field(min_length=1, max_length=128)
    stream_id: str | None = Field(default=None, description="Position in the coordination's stream (replay offset).")


class AgentInitializedSignal(SeedModel):
    """Payload of ``agent_initialized``."""

    agent_id: str = Field(min_length=1)
    capabilities: list[str] = Field(default_factory=list)
    ready: bool = True
    initialization_time_ms: float = Field(default=0.0, ge=0)


class AgentCompletedSignal(SeedModel):
    """Payload of ``agent_completed``."""

    agent_id: str = Field(min_length=1)
    result_summary: str = ""
    quality_score: float = Field(default=1.0, ge=0.0, le=1.0)
    execution_time_ms: float = Field(default=0.0, ge=0)
    artifacts_generated: list[str] = Field(default_factory=list)
    error: str | None = None


class DependencyResolvedSignal(SeedModel):
    """Payload of ``dependency_resolved``."""

    dependency_type: str = Field(min_length=1)
    dependency_id: str = Field(min_length=1)
    resolved_by: str = Field(min_length=1)
    resolution_data: dict[str, Any] = Field(default_factory=dict)


class InterAgentMessage(SeedModel):
    """Payload of ``inter_agent_message``."""

    message_type: str = Field(min_length=1)
    message: str = Field(min_length=1)
    requires_response: bool = False
    response_timeout_ms: float = Field(default=5000.0, ge=0)
    payload: dict[str, Any] = Field(default_factory=dict)


class SignalSubscription(SeedModel):
    """A live subscription: which signals one agent receives from one coordination."""

    subscription_id: str = Field(default_factory=lambda: str(uuid4()))
    coordination_id: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    signal_types: list[SignalType] = Field(default_factory=list)
    sender_filter: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    start_offset: str = Field(default="0-0", description="Stream position after which signals are delivered.")


class SignalMetrics(SeedModel):
    """Signal figures of one coordination, shared by every process."""

    total_signals_sent: int = 0
    total_signals_received: int = 0
    average_propagation_ms: float = 0.0
    max_propagation_ms: float = 0.0
    signals_by_type: dict[str, int] = Field(default_factory=dict)
