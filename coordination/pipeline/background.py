"""One background thread per worker process: it renews the leases of running attempts and reports sent messages.

Two writes an attempt needs that must not cost it a round trip of its own:

* **Lease renewals**, every third of ``COORD_LEASE_SECONDS``, for every attempt the process runs, in one round
  trip (see :mod:`coordination.pipeline.leases`). A renewal that finds an attempt no longer held by this process
  (settled, or taken over after its lease expired) marks it lost; its outcome will be refused.
* **"Sent" marks**: after an attempt's settlement queued other attempts and their messages were published, beat
  must learn that they were sent (or it re-sends them after ``COORD_DISPATCH_GRACE_SECONDS``). The marks are
  collected and written within about 50 ms, many attempts' marks in one round trip. If the process dies before, the
  only cost is that beat re-sends those messages once, after the grace; admission refuses the duplicates.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from config.settings import get_settings
from coordination.pipeline.records import Records, Send
from coordination.store.connection import STORE_ERRORS

logger = logging.getLogger(__name__)

#: How long sent marks are collected before they are written (many attempts' marks in one round trip).
MARK_BATCH_S = 0.05


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
class BackgroundWriter:
    """The background writes of one process for one namespace."""

    records: Records
    leases: dict[str, HeldLease] = field(default_factory=dict)
    marks: list[Send] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    wake: threading.Event = field(default_factory=threading.Event)
    failing: bool = False

    def hold(self, lease: HeldLease) -> None:
        """Renew ``lease`` from now on."""
        with self.lock:
            self.leases[lease.run] = lease

    def release(self, lease: HeldLease) -> None:
        """Stop renewing ``lease``."""
        with self.lock:
            self.leases.pop(lease.run, None)

    def mark_sent(self, sends: list[Send]) -> None:
        """Report these messages sent, soon (in a batch)."""
        with self.lock:
            self.marks.extend(sends)
        self.wake.set()

    def flush_marks(self) -> None:
        """Write the collected marks now."""
        with self.lock:
            marks, self.marks = self.marks, []
        if not marks:
            return
        try:
            self.records.mark_sent(marks, get_settings().requeue_after_seconds * 1000)
        except STORE_ERRORS as error:  # beat re-sends them after the grace; admission refuses the duplicates
            logger.warning("could not report %d sent message(s): %s", len(marks), error)

    def renew_leases(self, lease_seconds: int) -> None:
        """Renew every held lease in one round trip."""
        with self.lock:
            held = list(self.leases.values())
        if not held:
            return
        try:
            flags = self.records.renew(
                [(lease.coordination_id, lease.agent_id, lease.run) for lease in held], lease_seconds * 1000
            )
        except STORE_ERRORS as error:
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
                    "%s/%s: this worker no longer holds the attempt (its lease expired and it was taken over, it was "
                    "settled, or the store lost its data); its outcome will not be recorded",
                    lease.coordination_id,
                    lease.agent_id,
                )

    def run_forever(self) -> None:
        """The thread's loop: write marks as they come (batched), renew leases every third of the lease."""
        next_renewal = time.monotonic() + get_settings().lease_seconds / 3
        while True:
            self.wake.wait(max(0.0, next_renewal - time.monotonic()))
            self.wake.clear()
            # Nothing may end this thread: without it, the process's running attempts lose their leases and
            # are run again elsewhere. Store errors are handled inside; anything else is logged and retried.
            try:
                if self.marks:
                    time.sleep(MARK_BATCH_S)  # let the marks of attempts finishing meanwhile join this write
                    self.flush_marks()
                if time.monotonic() >= next_renewal:
                    lease_seconds = get_settings().lease_seconds
                    self.renew_leases(lease_seconds)
                    next_renewal = time.monotonic() + lease_seconds / 3
            except Exception:
                logger.exception("background writer: unexpected error; trying again in a second")
                time.sleep(1.0)


_lock = threading.Lock()
_writers: dict[tuple[int, str], BackgroundWriter] = {}


def writer_for(records: Records) -> BackgroundWriter:
    """This process's background writer for ``records``' namespace (its thread starts on first use, after fork)."""
    key = (os.getpid(), records.keys.namespace)
    found = _writers.get(key)
    if found is None:
        with _lock:
            found = _writers.get(key)
            if found is None:
                found = BackgroundWriter(records)
                threading.Thread(target=found.run_forever, name="coord-background", daemon=True).start()
                _writers[key] = found
    return found


@atexit.register
def flush_all() -> None:
    """Write every pending mark of this process now (at exit; tests call it too)."""
    for (pid, _namespace), writer in list(_writers.items()):
        if pid == os.getpid():
            writer.flush_marks()
