"""Every task name, as explicit constant strings (never derived from module paths; pure: the pipeline sends them)."""

PING = "coordination.health.ping"
EMIT_SIGNAL = "coordination.signals.emit"
CHECK_DEPENDENCIES = "coordination.dependencies.check"
MARK_RESOURCE = "coordination.resources.mark"
SET_GATE = "coordination.gates.set"
APPROVE = "coordination.approvals.approve"
POLL_DEPENDENCIES = "coordination.beat.poll_dependencies"
ARCHIVE_HISTORY = "coordination.beat.archive_history"
EXPIRE_FINISHED = "coordination.beat.expire_finished"

#: Beat's periodic tasks (they travel on the periodic queue).
PERIODIC_TASKS = frozenset({POLL_DEPENDENCIES, ARCHIVE_HISTORY, EXPIRE_FINISHED})

#: Agent tasks are named ``agent.<name given to @agent>``.
AGENT_PREFIX = "agent."

ALL = frozenset(
    {
        PING,
        EMIT_SIGNAL,
        CHECK_DEPENDENCIES,
        MARK_RESOURCE,
        SET_GATE,
        APPROVE,
        POLL_DEPENDENCIES,
        ARCHIVE_HISTORY,
        EXPIRE_FINISHED,
    }
)


def agent_task(name: str) -> str:
    """The Celery task name of the agent registered as ``name``."""
    return AGENT_PREFIX + name
