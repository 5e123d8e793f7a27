"""A bounded FIFO buffer that overwrites its oldest item when full (pure, thread-safe)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class RingBuffer(Generic[T]):
    """Fixed-capacity buffer; writing to a full buffer drops the oldest item.

    The seed guarded it with an ``asyncio.Lock``; here a ``threading.Lock`` guards it, because synchronous
    hot paths (Celery workers, sync decorators, the flusher thread) write and read it too. Every operation
    holds the lock only for a deque operation, so it never blocks for long and never does I/O.

    Args:
        capacity: the largest number of items held.

    Raises:
        ValueError: ``capacity`` is not a positive integer.
    """

    def __init__(self, capacity: int = 10000) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0:
            raise ValueError(f"capacity: Capacity must be positive, got {capacity!r} (a positive integer)")
        self._capacity = capacity
        self._items: deque[T] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._overwritten = 0
        self._written = 0

    def write_nowait(self, item: T) -> bool:
        """Append ``item`` (synchronous). When full, the oldest item is dropped. Always returns True."""
        with self._lock:
            if len(self._items) == self._capacity:
                self._overwritten += 1
            self._items.append(item)
            self._written += 1
        return True

    def write_many_nowait(self, items: Sequence[T]) -> tuple[int, int]:
        """Append ``items`` in order under one lock (synchronous); when full, the oldest items are dropped.

        Returns:
            How many items were dropped to make room, and how many the buffer holds after the write.
        """
        with self._lock:
            buffered = self._items
            dropped = len(buffered) + len(items) - self._capacity
            if dropped > 0:
                self._overwritten += dropped
            else:
                dropped = 0
            buffered.extend(items)
            self._written += len(items)
            return dropped, len(buffered)

    async def write(self, item: T) -> bool:
        """Append ``item`` (the seed's async API). When full, the oldest item is dropped. Returns True."""
        return self.write_nowait(item)

    def read_batch(self, max_size: int = 1000) -> list[T]:
        """Remove and return up to ``max_size`` of the oldest items, oldest first."""
        if max_size <= 0:
            return []
        with self._lock:
            count = min(max_size, len(self._items))
            popleft = self._items.popleft
            return [popleft() for _ in range(count)]

    def requeue(self, items: list[T]) -> None:
        """Put ``items`` (taken by :meth:`read_batch`) back in front, oldest first, e.g. after a failed write.

        If the buffer cannot hold them all, the oldest items overall are dropped. They do not count as writes.
        """
        if not items:
            return
        with self._lock:
            combined = [*items, *self._items]
            overflow = max(0, len(combined) - self._capacity)
            self._overwritten += overflow
            self._items = deque(combined[overflow:], maxlen=self._capacity)

    def peek_all(self) -> list[T]:
        """Return a copy of every buffered item, oldest first, without removing them."""
        with self._lock:
            return list(self._items)

    def size(self) -> int:
        """Return the number of buffered items."""
        return len(self._items)

    def capacity(self) -> int:
        """Return the largest number of items held."""
        return self._capacity

    def written(self) -> int:
        """Return how many items were ever written (requeued items are not counted again)."""
        return self._written

    def overwritten(self) -> int:
        """Return how many items were dropped because the buffer was full."""
        return self._overwritten

    def is_empty(self) -> bool:
        """Tell whether the buffer holds nothing."""
        return not self._items

    def is_full(self) -> bool:
        """Tell whether the next write will drop the oldest item."""
        return len(self._items) >= self._capacity

    def clear(self) -> None:
        """Drop every buffered item."""
        with self._lock:
            self._items.clear()

    def reset_after_fork(self) -> None:
        """Give a forked child a fresh lock and an empty buffer (the items belong to the parent)."""
        self._lock = threading.Lock()
        self._items = deque(maxlen=self._capacity)
        self._overwritten = 0
        self._written = 0

    def __len__(self) -> int:
        return len(self._items)
