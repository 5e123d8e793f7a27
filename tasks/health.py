"""Health-check task: a canary that proves the queue, a worker and the result backend work end to end."""

from __future__ import annotations

import os
import socket
import time

from config.celery_app import app
from tasks import names


@app.task(name=names.PING, acks_late=False)  # type: ignore[untyped-decorator]
def ping() -> dict[str, object]:
    """Answer with the worker's host, process id and time."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()}
