"""The ``@agent`` decorator: a user function becomes a Celery task with a stable name, ``agent.<name>``.

The task receives ids only (``coordination_id``, ``agent_id``, ``attempt``, as keyword arguments so Flower shows
them) and runs the attempt through the pipeline runtime. Its Celery state tells the truth: a failed attempt ends
in FAILURE (the agent's exception type and message), an attempt that will be retried in RETRY, a completed,
skipped or cancelled one in SUCCESS with its status in the result; the coordination's records stay the source of
truth and are written exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery.exceptions import Retry
from celery.signals import task_unknown

from config.celery_app import app, task
from config.settings import get_settings
from coordination.errors import AgentAttemptFailed, InvalidInputError
from coordination.ids import validate_id
from coordination.pipeline.messages import AgentMessage, MalformedMessage, parse_agent_message
from coordination.pipeline.runtime import AgentFunction, execute_attempt
from coordination.pipeline.unknown import fail_unregistered
from coordination.store.connection import STORE_ERRORS
from coordination.task_names import AGENT_PREFIX, agent_task

logger = logging.getLogger(__name__)


_warned: set[str] = set()


def agent(name: str, **task_options: Any) -> Callable[[AgentFunction], Any]:
    """Register ``function(run)`` as the agent ``name``.

    Args:
        name: the agent task's name (``agent.<name>`` in Celery and Flower); workflows refer to it.
        task_options: extra Celery task options (``queue``, ``soft_time_limit``, ``rate_limit``, ...).

    Raises:
        InvalidInputError: ``name`` is not a valid id, or another function is already registered under it (a
            function of the same module and qualified name replaces the registered one: a module reloaded, a
            notebook cell run again).
    """
    validate_id(name, "name")
    task_name = agent_task(name)

    def decorate(function: AgentFunction) -> Any:
        existing = app.tasks.get(task_name)
        previous = getattr(existing, "agent_function", None)
        if previous is function:
            return existing  # the same function decorated again
        if previous is not None:
            if _definition(previous) != _definition(function):
                where = ".".join(str(part) for part in _definition(previous))
                raise InvalidInputError(
                    "name", f"an agent named {name!r} is already registered ({where}); give this one another name"
                )
            # The same definition run again (a reloaded module, a notebook cell, a docs example): the new function
            # replaces the old one. Celery keeps the first task registered under a name, so unregister it first.
            app.tasks.unregister(task_name)

        # bind: the task reads its own request (task id, retries). Other options: config.celery_app.TaskOptions.
        @task(task_name, bind=True, **task_options)
        def run_agent(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
            try:
                message = parse_agent_message(args, kwargs)
            except InvalidInputError as error:
                # A message no @agent sender would write (wrong arity, a non-integer attempt, unknown keywords):
                # refuse it in one line (the task ends in FAILURE, shown in Flower); there is nothing to retry.
                logger.warning("refused a malformed %s message %s: %s", task_name, self.request.id, error)
                raise MalformedMessage(str(error)) from None
            return _run(self, function, message)

        run_agent.agent_function = function
        run_agent.agent_name = name
        return run_agent

    return decorate


def _definition(function: Any) -> tuple[str | None, str | None]:
    """Where a function is defined: the same for a definition run again, different for another function."""
    return getattr(function, "__module__", None), getattr(function, "__qualname__", None)


def _run(task: Any, function: AgentFunction, message: AgentMessage) -> dict[str, Any]:
    try:
        outcome = execute_attempt(
            function, message.coordination_id, message.agent_id, message.attempt, str(task.request.id or "")
        )
    except STORE_ERRORS as error:
        _log_store_error(error)
        # The attempt (if it was admitted) holds a lease that expires; beat then sends it again. Also deliver this
        # message again after the lease (same task id), so the attempt recovers even without beat. Every step is
        # idempotent, so repeating it does nothing twice.
        lease = get_settings().lease_seconds
        raise task.retry(
            exc=error,
            countdown=lease + min(30.0, 0.5 * 2**task.request.retries),
            max_retries=get_settings().max_redeliveries,
        ) from error
    summary = outcome.as_dict(message.agent_id, message.attempt)
    if outcome.status in ("failed", "timed_out"):
        raise AgentAttemptFailed(outcome.error or outcome.detail, summary) from outcome.exception
    if outcome.status == "retrying":
        # The next attempt was already sent (same task id, after its back-off): mark this one RETRY.
        raise Retry(f"attempt {message.attempt} failed ({outcome.error}); retrying", when=outcome.retry_in)
    return summary


def _log_store_error(error: BaseException) -> None:
    """Log a store error once per kind, with what an operator should do about it."""
    kind = type(error).__name__
    text = str(error)
    advice = "check that Redis runs and COORD_REDIS_URL"
    if "OOM" in text or kind == "OutOfMemoryError":
        advice = "Redis is out of memory (maxmemory): raise maxmemory or free memory; use maxmemory-policy noeviction"
    elif "READONLY" in text or kind == "ReadOnlyError":
        advice = "Redis is a read-only replica (a failover happened?): point COORD_REDIS_URL at the primary or Sentinel"
    elif "MISCONF" in text:
        advice = "Redis cannot persist (MISCONF): check its disk and its AOF/RDB configuration"
    if kind + advice not in _warned:
        _warned.add(kind + advice)
        logger.error("store error in an agent attempt: %s: %s -- %s; the attempt will run again", kind, text, advice)


@task_unknown.connect  # type: ignore[untyped-decorator]
def _unknown_agent_task(sender: Any = None, name: str = "", message: Any = None, **_: Any) -> None:
    """A worker received an agent task it does not have: fail that attempt now, with a clear reason.

    Without this the agent would sit ``queued`` until its message is re-sent, again and again, to workers that
    cannot run it. Every worker consuming a queue must register the same agents (``COORD_AGENT_MODULES``).
    """
    if not name.startswith(AGENT_PREFIX):
        return
    try:
        body = message.decode() if message is not None else None
        args, kwargs = (body[0], body[1]) if isinstance(body, list | tuple) and len(body) >= 2 else ((), {})
        parsed = parse_agent_message(args, kwargs)
    except Exception as error:  # a message we cannot even read: nothing to fail
        logger.warning("unknown task %s with an unreadable message: %s", name, error)
        return
    fail_unregistered(parsed, name, get_settings().agent_modules)
