"""The seed's signal-coordinator interface, as a ``Protocol`` the dependency resolver accepts (pure).

The module keeps the seed's path (``agents.coordination.signal_coordinator_stub``). The seed's
``SignalCoordinatorStub`` (an in-memory fake) is not provided: here an agent-completion dependency is settled by
the ``agent_completed`` signal itself, inside Redis, so a resolver driven by an in-memory fake would wait forever.
Tests use a :class:`~coordination.signals.SignalCoordinator` on a private
:class:`~coordination.state.ThreadSafeState` instead; it is as cheap and behaves as in production.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ISignalCoordinator(Protocol):
    """What a :class:`~coordination.dependencies.DependencyResolver` uses of a signal coordinator (seed interface).

    :class:`~coordination.signals.SignalCoordinator` implements it. The resolver announces
    ``dependency_resolved`` through :meth:`signal_event`; agent completions reach it through the
    ``agent_completed`` signals stored in its state's namespace.
    """

    async def signal_event(
        self, coordination_id: str, event_type: str, event_data: dict[str, Any], priority: int = 5
    ) -> None:
        """Emit a signal (refused input is logged, not raised)."""

    async def check_agent_completion(
        self, coordination_id: str, agent_id: str, completion_event: str = "completion"
    ) -> bool:
        """Tell whether an agent completed successfully."""

    async def get_coordination_signals(
        self, coordination_id: str, event_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Return a coordination's signals as dicts, newest first."""


__all__ = ["ISignalCoordinator"]
