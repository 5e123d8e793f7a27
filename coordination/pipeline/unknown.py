"""An agent message reached a worker that has no such agent task: fail the attempt fast, saying why."""

from __future__ import annotations

import logging

from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.messages import AgentMessage
from coordination.pipeline.spec_cache import stored_workflow
from coordination.planning import Plan

logger = logging.getLogger(__name__)


def fail_unregistered(message: AgentMessage, task_name: str, agent_modules: str) -> bool:
    """Record the queued attempt of ``message`` as failed (the coordination fails); True if this call did it."""
    dispatcher = Dispatcher(components())
    spec = stored_workflow(dispatcher.records, message.coordination_id)
    if spec is None or spec.owner_of(message.agent_id) is None:
        return False
    reason = (
        f"no worker that received it has the task {task_name!r} registered: add the module defining "
        f"@agent({task_name.removeprefix('agent.')!r}) to COORD_AGENT_MODULES (now {agent_modules!r}) on every "
        "worker consuming this queue"
    )
    logger.error("%s/%s: %s", message.coordination_id, message.agent_id, reason)
    settled = dispatcher.apply(
        spec,
        message.coordination_id,
        message.agent_id,
        message.attempt,
        Plan("failed", reason, end="failed"),
        result=None,
        quality=None,
        error=reason,
        decision="error",
        mode="mark",
    )
    return settled.first
