"""The Celery application: small, configured from the typed settings, no I/O at import.

Run a worker with ``celery -A config.celery_app worker`` and beat with ``celery -A config.celery_app beat``.
Every worker, beat and Flower process starts by importing this module, so invalid settings end the process here
with one line naming the variable (Celery's command line would print a whole traceback instead).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from celery import Celery, signals
from kombu.entity import Queue

from config.agent_modules import agent_module_names, import_agent_modules
from config.settings import Settings, SettingsError, get_settings
from config.urls import is_sentinel
from coordination.pipeline.messages import MalformedMessage
from coordination.pipeline.schedule import beat_schedule
from coordination.task_names import AGENT_PREFIX, PERIODIC_TASKS, PING


def _sentinel_options(settings: Settings, url: str) -> dict[str, Any]:
    """Transport options that make kombu (broker) or Celery (results) find the master through Sentinel."""
    if not is_sentinel(url):
        return {}
    # Sentinel discovery (docs: "Using Redis" → "Sentinel"): the master's name, and the sentinels' own auth and
    # time-outs (Celery's result backend would otherwise wait on an unanswering sentinel with no time-out).
    sentinel_kwargs: dict[str, Any] = {"socket_connect_timeout": 5, "socket_timeout": 5}
    if settings.redis_sentinel_password is not None:
        sentinel_kwargs["password"] = settings.redis_sentinel_password.get_secret_value()
    return {"master_name": settings.redis_sentinel_master, "sentinel_kwargs": sentinel_kwargs}


def connection_config(settings: Settings) -> dict[str, Any]:
    """The settings that say where the broker, the results and the queue are (re-applied when they change)."""
    broker = settings.broker_url.get_secret_value()
    results = settings.result_backend_url.get_secret_value()
    # Redis redelivers unacked messages after the visibility timeout; keep it above the longest time limit
    # or long tasks would run twice (docs: "Redis: Visibility timeout").
    visibility = {"visibility_timeout": settings.task_time_limit * 2}
    return {
        "broker_url": broker,
        # Agents and events go to one queue, beat's periodic tasks to their own, so an agent backlog never delays
        # a poll. A worker started without -Q consumes both; give the periodic queue a worker of its own with
        # `-Q <periodic queue>` when agents run long (docs/operations.md).
        "task_default_queue": settings.task_queue,
        "task_queues": [Queue(settings.task_queue), Queue(settings.periodic_queue_name)],  # type: ignore[no-untyped-call]
        "task_routes": {name: {"queue": settings.periodic_queue_name} for name in PERIODIC_TASKS},
        "result_backend": results,
        "broker_transport_options": {**visibility, **_sentinel_options(settings, broker)},
        "result_backend_transport_options": {**visibility, **_sentinel_options(settings, results)},
    }


class TaskOptions:
    """Per-kind task options (Celery's ``task_annotations``), set once for the app instead of on every task.

    - Agent tasks (``agent.*``) keep no result: their outcome is in the coordination's records (coord status); a
      malformed message is an expected failure, logged without a traceback (one line is ours).
    - Beat's periodic tasks keep no result either (beat sends them, nobody holds their ids; a poll every second would
      leave ~86,000 result keys a day) and are acknowledged on receipt: a lost one is simply sent again.
    - The health canary is acknowledged on receipt (it does nothing worth redelivering).
    """

    def annotate(self, task: Any) -> dict[str, Any] | None:
        """The options of ``task`` beyond the app's defaults (None: none)."""
        name = str(task.name)
        if name.startswith(AGENT_PREFIX):
            return {"ignore_result": True, "throws": (MalformedMessage,)}
        if name in PERIODIC_TASKS:
            return {"acks_late": False, "ignore_result": True}
        if name == PING:
            return {"acks_late": False}
        return None


P = ParamSpec("P")
R = TypeVar("R")


def create_app() -> Celery:
    """Build the Celery app from the current settings.

    Raises:
        SettingsError: a variable holds an invalid value; the message names it.
    """
    settings = get_settings()
    agent_modules = agent_module_names(settings.agent_modules)
    app = Celery(
        "coordination",
        include=["tasks.health", "tasks.signals", "tasks.dependencies", "tasks.agents", "beat.tasks", *agent_modules],
    )
    app.conf.update(
        **connection_config(settings),
        # Security: JSON only, never pickle (docs: "Serializers" / security guide).
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        # One clock everywhere (docs: "Time and date").
        timezone="UTC",
        enable_utc=True,
        # Explicit limits: a stuck agent is stopped instead of holding a worker slot forever.
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        # At-least-once: ack after the task ran, re-queue if the worker process dies mid-task
        # (docs: "Should I use retry or acks_late?"). Our effects are idempotent, so redelivery is safe.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Take one message at a time, so long agent tasks don't hoard messages other workers could run.
        worker_prefetch_multiplier=1,
        # Results are small dicts; expire them so the result backend does not grow without bound.
        result_expires=24 * 3600,
        # Flower needs task events (docs: "Monitoring and Management Guide").
        worker_send_task_events=True,
        task_send_sent_event=True,
        task_track_started=True,
        # Retry connecting to the broker at start-up instead of exiting (Celery 6 changes the default).
        broker_connection_retry_on_startup=True,
        # Restart worker processes now and then so slow leaks in user agent code cannot accumulate; rarely,
        # because replacing a pool process costs seconds of a slot (a fault run measured a time-out fired
        # 3.5 s late behind a replacement at 1,000).
        worker_max_tasks_per_child=10_000,
        # The one schedule (coordination/pipeline/schedule.py); exactly one beat process runs it.
        beat_schedule=beat_schedule(settings),
        # Options of each kind of task, set here once rather than on every task (see TaskOptions).
        task_annotations=(TaskOptions(),),
    )

    def check_agent_modules(sender: Any = None, **_kwargs: Any) -> None:
        # Sent by the loader just before it imports `include`: a bad module ends the process with one line.
        import_agent_modules(agent_modules)

    signals.import_modules.connect(check_agent_modules, sender=app, weak=False)
    return app


def apply_connection_settings(app: Celery) -> None:
    """Point an existing app at the current settings' broker, result backend and queue.

    For a process that changes its settings after the app was built (the demo switching to an embedded Redis,
    tests pointing a client at their own servers). Connections already opened to the previous broker or result
    backend are dropped, so the next message and the next result use the new ones.
    """
    before = (app.conf.broker_url, app.conf.result_backend)
    app.conf.update(connection_config(get_settings()))
    if (app.conf.broker_url, app.conf.result_backend) == before:
        return
    # Celery caches the broker pool, the producer pool and the backend on first use and offers no public way to
    # drop them (app.close() also unregisters the app); forget them so they are built again from the new conf.
    # The pools are not closed: kombu keeps them in a registry by URL and hands the same ones back when the app
    # is pointed at that broker again.
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    app._local = threading.local()


#: Exit status of a process started with invalid settings (the same as `coord` uses for bad input).
EXIT_INVALID_SETTINGS = 2


def _app_or_exit() -> Celery:
    try:
        return create_app()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID_SETTINGS) from None


app = _app_or_exit()
celery_app = app


def task(name: str, **options: Any) -> Callable[[Callable[P, R]], Any]:
    """``app.task(name=name, **options)`` with a type (Celery's own decorator is untyped).

    The decorated function becomes a Celery task (``.delay``, ``.apply_async``); options beyond the name come from
    :class:`TaskOptions` unless given here.
    """
    decorator: Callable[[Callable[P, R]], Any] = app.task(name=name, **options)
    return decorator
