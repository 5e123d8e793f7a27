"""In-process wake-ups for dependency waiters: one pub/sub subscription per event loop and namespace.

The Lua scripts that settle a dependency publish ``cid/id/status`` on the namespace's channel. Waiters register a
future here *before* re-checking the dependency, so a settlement between the check and the wait is never missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

from coordination.store.connection import async_client, cancellation_requests, raise_lost_cancellation

logger = logging.getLogger(__name__)

_READ_TIMEOUT_S = 1.0


class _Listener:
    """Reads one channel and completes the futures waiting on each ``cid/id``."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.waiting: dict[str, set[asyncio.Future[str]]] = {}
        self.subscribed = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"dep-events:{channel}")

    async def _run(self) -> None:
        cancelled_before = cancellation_requests()
        pubsub = async_client().pubsub()
        try:
            await pubsub.subscribe(self.channel)
            while True:
                # Bounded reads, each followed by a check: on Python 3.11 redis-py can swallow a cancellation
                # (see raise_lost_cancellation), and an unbounded listen() would then never end.
                message = await pubsub.get_message(timeout=_READ_TIMEOUT_S)
                raise_lost_cancellation(cancelled_before)
                if message is None:
                    continue
                kind = message.get("type")
                if kind == "subscribe":
                    self.subscribed.set()
                elif kind == "message":
                    self._deliver(str(message["data"]))
        except asyncio.CancelledError:
            raise
        except Exception:  # the connection dropped: waiters fall back to their own re-checks
            logger.warning("dependency event listener for %s stopped", self.channel, exc_info=True)
        finally:
            self.subscribed.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _deliver(self, data: str) -> None:
        key, _, status = data.rpartition("/")
        for future in self.waiting.pop(key, ()):
            if not future.done():
                future.set_result(status)

    def expect(self, key: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(key, set()).add(future)
        return future

    def forget(self, key: str, future: asyncio.Future[str]) -> None:
        waiting = self.waiting.get(key)
        if waiting is not None:
            waiting.discard(future)
            if not waiting:
                del self.waiting[key]


_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Listener]] = weakref.WeakKeyDictionary()


async def listener_for(channel: str, timeout: float = 2.0) -> _Listener | None:
    """Return this loop's subscribed listener for ``channel``, or None if it could not subscribe in time.

    Without a listener, waiters still resolve through their periodic re-checks.
    """
    loop = asyncio.get_running_loop()
    per_loop = _listeners.setdefault(loop, {})
    listener = per_loop.get(channel)
    if listener is None or listener.task.done():
        listener = _Listener(channel)
        per_loop[channel] = listener
    if not listener.subscribed.is_set():
        try:
            await asyncio.wait_for(listener.subscribed.wait(), timeout)
        except TimeoutError:
            return None
    return listener


def waiting_count() -> dict[str, Any]:
    """Return how many futures wait per channel in the running loop (diagnostics and tests)."""
    per_loop = _listeners.get(asyncio.get_running_loop(), {})
    return {channel: sum(len(v) for v in listener.waiting.values()) for channel, listener in per_loop.items()}
