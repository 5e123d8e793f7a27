"""Signals as a Celery task, so producers in any language can send one with a plain Celery message."""

from __future__ import annotations

from typing import Any

from config.celery_app import task
from coordination import task_names as names
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher


@task(names.EMIT_SIGNAL)
def emit_signal(
    coordination_id: str,
    event_type: str,
    event_data: dict[str, Any] | None = None,
    sender_agent_id: str | None = None,
    recipient_agents: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    signal_id: str | None = None,
) -> dict[str, Any]:
    """Emit a signal into a pipeline coordination; agents its completion unblocks are enqueued at once."""
    parts = components()
    outcome = parts.signals.emit_sync(
        coordination_id,
        [
            {
                "event_type": event_type,
                "event_data": event_data or {},
                "sender_agent_id": sender_agent_id,
                "recipient_agents": recipient_agents,
                "metadata": metadata,
                "signal_id": signal_id,
            }
        ],
    )
    started = Dispatcher(parts).start_unblocked(outcome.settled)
    signal = outcome.signals[0]
    return {"signal_id": signal.signal_id, "stream_id": signal.stream_id, "started": started}
