"""Health-check task: a canary that proves the queue, a worker and the result backend work end to end."""

from __future__ import annotations

import os
import socket
import time

from config.celery_app import task
from coordination import task_names as names


@task(names.PING)
def ping() -> dict[str, object]:
    """Answer with the worker's host, process id and time."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()}
