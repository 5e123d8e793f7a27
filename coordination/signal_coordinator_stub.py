"""The seed's signal-coordinator interface and an in-memory stub for tests of code that uses it (pure)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class ISignalCoordinator(ABC):
    """What a dependency resolver needs from a signal coordinator (seed interface)."""

    @abstractmethod
    async def signal_event(
        self, coordination_id: str, event_type: str, event_data: dict[str, Any], priority: int = 5
    ) -> None:
        """Emit a signal."""

    @abstractmethod
    async def check_agent_completion(
        self, coordination_id: str, agent_id: str, completion_event: str = "completion"
    ) -> bool:
        """Tell whether an agent completed."""

    @abstractmethod
    async def get_coordination_signals(
        self, coordination_id: str, event_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Return a coordination's signals, newest first."""


class SignalCoordinatorStub(ISignalCoordinator):
    """In-memory :class:`ISignalCoordinator` for unit tests of code that depends on the interface."""

    def __init__(self) -> None:
        self.signals: list[dict[str, Any]] = []
        self.completed: set[tuple[str, str]] = set()

    async def signal_event(
        self, coordination_id: str, event_type: str, event_data: dict[str, Any], priority: int = 5
    ) -> None:
        """Record a signal."""
        self.signals.insert(
            0,
            {
                "coordination_id": coordination_id,
                "signal_type": event_type,
                "event_data": event_data,
                "metadata": {"priority": priority},
            },
        )

    async def check_agent_completion(
        self, coordination_id: str, agent_id: str, completion_event: str = "completion"
    ) -> bool:
        """Tell whether :meth:`mark_agent_completed` was called for the agent."""
        return (coordination_id, agent_id) in self.completed

    async def get_coordination_signals(
        self, coordination_id: str, event_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Return recorded signals, newest first."""
        return [
            signal
            for signal in self.signals
            if signal["coordination_id"] == coordination_id
            and (event_type is None or signal["signal_type"] == event_type)
        ]

    async def mark_agent_completed(
        self, coordination_id: str, agent_id: str, completion_event: str = "completion"
    ) -> None:
        """Record a completion."""
        self.completed.add((coordination_id, agent_id))

    def clear(self) -> None:
        """Forget everything."""
        self.signals.clear()
        self.completed.clear()
