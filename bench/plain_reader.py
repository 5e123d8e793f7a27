"""The baseline receiver of the signal figure: a plain process in a blocking ``XREAD BLOCK`` (no event loop).

Spawned by the bench process; it reads one stream with a synchronous redis-py client and sends, for every entry,
``time.time() - t0`` (the entry's ``t0`` field, the sender's time just before its synchronous ``XADD``). With
the sending side also a plain blocking call, the pair is the floor a signal emit → subscriber can reach on this
machine: two processes and one Redis, nothing else.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

import redis


def serve(conn: Connection, url: str, key: str, count: int) -> None:
    """Entry point of the child: answer ``"ready"`` once listening, then one delay (s) per entry read."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        client.ping()
        last = "0-0"  # a fresh key: everything in it is for this run
        conn.send("ready")
        received = 0
        while received < count:
            reply: Any = client.xread({key: last}, block=5000, count=500)
            now = time.time()
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id
                    conn.send(now - float(fields["t0"]))
                    received += 1
    except Exception as error:  # report instead of leaving the parent waiting
        conn.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        client.close()


class PlainReader:
    """The parent's handle on one plain reader process."""

    def __init__(self, url: str, key: str, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child_conn, url, key, count), name="bench-plain-reader", daemon=True
        )
        self._process.start()
        child_conn.close()
        if self.receive(60.0) != "ready":
            raise RuntimeError("the plain reader did not start")

    def receive(self, timeout: float = 10.0) -> Any:
        """Return the child's next message."""
        if not self._conn.poll(timeout):
            raise RuntimeError(f"no message from the plain reader within {timeout} s")
        message = self._conn.recv()
        if isinstance(message, tuple) and message and message[0] == "error":
            raise RuntimeError(f"plain reader failed: {message[1]}")
        return message

    def close(self) -> None:
        """Stop the child (it ends by itself after its count; this also covers an aborted run)."""
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        with contextlib.suppress(OSError):
            self._conn.close()

    def __enter__(self) -> PlainReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
