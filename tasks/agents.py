"""The ``@agent`` decorator: a user function becomes a Celery task with a stable name, ``agent.<name>``.

The task receives ids only (``coordination_id, agent_id, attempt``) and runs the attempt through the pipeline
runtime, which loads the context, runs the function once per delivery, and routes the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.celery_app import app
from config.settings import get_settings
from coordination.errors import InvalidInputError, StoreUnavailableError
from coordination.ids import validate_id
from coordination.pipeline.runtime import AgentFunction, execute_attempt
from tasks.names import agent_task

#: Errors that mean "the store could not be reached", after the Redis client's own reconnect-and-retry.
TRANSIENT_STORE_ERRORS = (RedisConnectionError, RedisTimeoutError, StoreUnavailableError)


def agent(name: str, **task_options: Any) -> Callable[[AgentFunction], Any]:
    """Register ``function(run)`` as the agent ``name``.

    Args:
        name: the agent task's name (``agent.<name>`` in Celery and Flower); workflows refer to it.
        task_options: extra Celery task options (``queue``, ``soft_time_limit``, ``rate_limit``, ...).

    Raises:
        InvalidInputError: ``name`` is not a valid id, or another function is already registered under it.
    """
    validate_id(name, "name")
    task_name = agent_task(name)

    def decorate(function: AgentFunction) -> Any:
        existing = app.tasks.get(task_name)
        if existing is not None and getattr(existing, "agent_function", None) not in (None, function):
            same = getattr(existing.agent_function, "__qualname__", None) == getattr(function, "__qualname__", "")
            if not same:
                raise InvalidInputError("name", f"an agent named {name!r} is already registered")

        options = {"ignore_result": True, **task_options}  # outcomes are in the records (see coord status)

        @app.task(name=task_name, bind=True, acks_late=True, reject_on_worker_lost=True, **options)  # type: ignore[untyped-decorator]
        def run_agent(self: Any, coordination_id: str, agent_id: str, attempt: int) -> dict[str, Any]:
            try:
                return execute_attempt(function, coordination_id, agent_id, int(attempt), str(self.request.id or ""))
            except TRANSIENT_STORE_ERRORS as error:
                # The store stayed unreachable through the client's own retries: deliver this same message again
                # later (same task id, so it is admitted as a redelivery of the running attempt), a bounded number
                # of times. Every step of an attempt is idempotent, so repeating it does nothing twice.
                raise self.retry(
                    exc=error,
                    countdown=min(30.0, 0.5 * 2**self.request.retries),
                    max_retries=get_settings().max_redeliveries,
                ) from error

        run_agent.agent_function = function
        run_agent.agent_name = name
        return run_agent

    return decorate
