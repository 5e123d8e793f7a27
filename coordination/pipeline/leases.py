"""Attempt leases: a running attempt is alive as long as its worker process keeps renewing its lease.

One daemon thread per worker process renews the leases of every attempt the process runs, every third of the
lease (``COORD_LEASE_SECONDS``), in one round trip. When a worker dies, its leases expire and beat re-sends the
attempts (same attempt, same idempotency key); while a lease is alive, any other delivery of the attempt is refused,
so a replayed message can neither run an agent in parallel nor fail a live run.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from config.settings import get_settings
from coordination.pipeline.records import Records

logger = logging.getLogger(__name__)


@dataclass
class HeldLease:
    """The lease of one running attempt, as this process holds it.

    Attributes:
        lost: set when a renewal found the attempt no longer held by this process (settled, or taken over after
            the lease expired while this process could not renew it); the attempt's outcome will be refused.
    """

    coordination_id: str
    agent_id: str
    run: str
    lost: bool = False


@dataclass
class _Keeper:
    records: Records
    pid: int
    leases: dict[str, HeldLease] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    wake: threading.Event = field(default_factory=threading.Event)
    failing: bool = False

    def run_forever(self) -> None:
        while True:
            lease_seconds = get_settings().lease_seconds
            self.wake.wait(lease_seconds / 3)
            self.wake.clear()
            self.renew_once(lease_seconds)

    def renew_once(self, lease_seconds: int) -> None:
        with self.lock:
            held = list(self.leases.values())
        if not held:
            return
        try:
            flags = self.records.renew(
                [(lease.coordination_id, lease.agent_id, lease.run) for lease in held], lease_seconds * 1000
            )
        except RedisError as error:
            if not self.failing:  # once per outage, not once per renewal
                logger.error(
                    "cannot renew the leases of %d running attempt(s): %s; if this lasts longer than "
                    "COORD_LEASE_SECONDS (%ss), beat will run them again elsewhere",
                    len(held),
                    error,
                    lease_seconds,
                )
            self.failing = True
            return
        if self.failing:
            logger.warning("lease renewals work again")
        self.failing = False
        for lease, renewed in zip(held, flags, strict=True):
            if not renewed and not lease.lost:
                lease.lost = True
                logger.warning(
                    "%s/%s: this worker no longer holds the attempt (its lease expired and it was taken over, or it "
                    "was settled); its outcome will not be recorded",
                    lease.coordination_id,
                    lease.agent_id,
                )


_lock = threading.Lock()
_keepers: dict[tuple[int, str], _Keeper] = {}


def _keeper(records: Records) -> _Keeper:
    key = (os.getpid(), records.keys.namespace)
    found = _keepers.get(key)
    if found is None:
        with _lock:
            found = _keepers.get(key)
            if found is None:
                # One thread per process (started after fork, never inherited from the parent).
                found = _Keeper(records, os.getpid())
                threading.Thread(target=found.run_forever, name="coord-leases", daemon=True).start()
                _keepers[key] = found
    return found


@contextmanager
def holding(records: Records, coordination_id: str, agent_id: str, run: str) -> Iterator[HeldLease]:
    """Keep renewing the lease of an admitted attempt while the block runs."""
    keeper = _keeper(records)
    lease = HeldLease(coordination_id, agent_id, run)
    with keeper.lock:
        keeper.leases[run] = lease
    try:
        yield lease
    finally:
        with keeper.lock:
            keeper.leases.pop(run, None)
