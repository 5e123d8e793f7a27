"""Attempt leases: a running attempt is alive as long as its worker process keeps renewing its lease.

The process's background writer (:mod:`coordination.pipeline.background`) renews the leases of every attempt the
process runs, every third of the lease (``COORD_LEASE_SECONDS``), in one round trip. When a worker dies, its leases
expire and beat re-sends the attempts (same attempt, same idempotency key); while a lease is alive, any other
delivery of the attempt is refused, so a replayed message can neither run an agent in parallel nor fail a live run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from coordination.pipeline.background import HeldLease, writer_for
from coordination.pipeline.records import Records

__all__ = ["HeldLease", "holding"]


@contextmanager
def holding(records: Records, coordination_id: str, agent_id: str, run: str) -> Iterator[HeldLease]:
    """Keep renewing the lease of an admitted attempt while the block runs."""
    writer = writer_for(records)
    lease = HeldLease(coordination_id, agent_id, run)
    writer.hold(lease)
    try:
        yield lease
    finally:
        writer.release(lease)
