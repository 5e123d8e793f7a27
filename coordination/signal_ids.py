"""Signal ids (``str(uuid.uuid4())``, as the seed makes them) generated ahead of need.

An emission needs a fresh id before its command can leave for Redis, and making one (``os.urandom``, the ``UUID``
object, its text) is among the costliest steps on that way when the process has been idle: tens of microseconds,
against a few for taking one made earlier. :func:`take` hands out an id made earlier; :func:`replenish`, called
once an emission has its reply, makes the next ones. Ids made before a ``fork()`` are dropped in the child, so two
processes never hand out the same one.
"""

from __future__ import annotations

import os
import uuid

#: How many ids are kept ready (a batch larger than this makes the rest on the spot).
RESERVE = 32

_ready: list[str] = []


def take() -> str:
    """Return a fresh signal id (one made earlier when there is one)."""
    try:
        return _ready.pop()
    except IndexError:
        return str(uuid.uuid4())


def replenish() -> None:
    """Make ids until :data:`RESERVE` are ready (call it off the emission's way to Redis)."""
    while len(_ready) < RESERVE:
        _ready.append(str(uuid.uuid4()))


def _forget() -> None:
    _ready.clear()


os.register_at_fork(after_in_child=_forget)
