"""The Celery application: small, configured from the typed settings, no I/O at import.

Run a worker with ``celery -A config.celery_app worker`` and beat with ``celery -A config.celery_app beat``.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from kombu.entity import Queue

from beat.schedule import beat_schedule
from config.agent_modules import agent_module_names, import_agent_modules
from config.settings import get_settings
from tasks.names import PERIODIC_TASKS


def create_app() -> Celery:
    """Build the Celery app from the current settings."""
    settings = get_settings()
    agent_modules = agent_module_names(settings.agent_modules)
    app = Celery(
        "coordination",
        include=["tasks.health", "tasks.signals", "tasks.dependencies", "tasks.agents", "beat.tasks", *agent_modules],
    )
    app.conf.update(
        broker_url=str(settings.broker_url),
        # Agents and events go to one queue, beat's periodic tasks to their own, so an agent backlog never delays
        # a poll. A worker started without -Q consumes both; give the periodic queue a worker of its own with
        # `-Q <periodic queue>` when agents run long (docs/operations.md).
        task_default_queue=settings.task_queue,
        task_queues=[Queue(settings.task_queue), Queue(settings.periodic_queue_name)],  # type: ignore[no-untyped-call]
        task_routes={name: {"queue": settings.periodic_queue_name} for name in PERIODIC_TASKS},
        result_backend=str(settings.result_backend_url),
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
        # Redis redelivers unacked messages after the visibility timeout; keep it above the longest time limit
        # or long tasks would run twice (docs: "Redis: Visibility timeout").
        broker_transport_options={"visibility_timeout": settings.task_time_limit * 2},
        result_backend_transport_options={"visibility_timeout": settings.task_time_limit * 2},
        # Results are small dicts; expire them so the result backend does not grow without bound.
        result_expires=24 * 3600,
        # Flower needs task events (docs: "Monitoring and Management Guide").
        worker_send_task_events=True,
        task_send_sent_event=True,
        task_track_started=True,
        # Retry connecting to the broker at start-up instead of exiting (Celery 6 changes the default).
        broker_connection_retry_on_startup=True,
        # Restart worker processes now and then so slow leaks in user agent code cannot accumulate.
        worker_max_tasks_per_child=1000,
        # The one schedule (beat/schedule.py); exactly one beat process runs it.
        beat_schedule=beat_schedule(settings),
    )

    def check_agent_modules(sender: Any = None, **_kwargs: Any) -> None:
        # Sent by the loader just before it imports `include`: a bad module ends the process with one line.
        import_agent_modules(agent_modules)

    signals.import_modules.connect(check_agent_modules, sender=app, weak=False)
    return app


app = create_app()
celery_app = app
