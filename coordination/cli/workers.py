"""Which workers consume a queue, asked with Celery's remote control (``inspect active_queues``).

Every worker that listens answers within the timeout; the question always takes the whole timeout (the number of
workers is not known in advance), so it is asked only where the answer matters (``coord status`` of a running
coordination) and with a short timeout.
"""

from __future__ import annotations

from config.celery_app import app

#: How long ``coord status`` waits for workers' answers.
INSPECT_TIMEOUT_S = 0.5


def queue_consumers(queue: str, timeout: float = INSPECT_TIMEOUT_S) -> list[str] | None:
    """Node names of the workers consuming ``queue``; None when the broker could not be asked."""
    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception:  # kombu raises its own OperationalError types (and OSError) for an unreachable broker
        return None
    return sorted(node for node, queues in replies.items() if any(item.get("name") == queue for item in queues or []))
