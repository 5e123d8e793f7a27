"""The parent's handle on the spawned child process (see :mod:`bench.child`)."""

from __future__ import annotations

import contextlib
import multiprocessing
from typing import Any

from bench.child import serve


class PeerError(RuntimeError):
    """The child reported an error or stopped answering."""


class Peer:
    """A child process that runs receiving phases on request.

    ``spawn`` (not fork): the child starts clean, with its own Redis connections and event loop, and
    inherits the environment, hence the bench's root key prefix.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=serve, args=(child_conn,), name="bench-peer", daemon=True)
        self._process.start()
        child_conn.close()

    def start(self, phase: str, params: dict[str, Any], timeout: float = 60.0) -> None:
        """Start a phase and wait until the child says it is listening."""
        self._conn.send((phase, params))
        reply = self.receive(timeout)
        if reply != "ready":
            raise PeerError(f"child phase {phase} did not start: {reply!r}")

    def receive(self, timeout: float = 10.0) -> Any:
        """Return the child's next message."""
        if not self._conn.poll(timeout):
            raise PeerError(f"no message from the child within {timeout} s")
        message = self._conn.recv()
        if isinstance(message, tuple) and message and message[0] == "error":
            raise PeerError(f"child failed: {message[1]}")
        return message

    def close(self) -> None:
        """Stop the child."""
        with contextlib.suppress(OSError):  # the child may be gone already
            self._conn.send(None)
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        self._conn.close()

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
