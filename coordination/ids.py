"""Ids: validation before they become parts of Redis keys, and fresh uuid4 ids made ahead of need (pure)."""

from __future__ import annotations

import itertools
import os
import re

from coordination.errors import InvalidIdError

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_RULE = "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ (letters, digits, '.', '_', '-'; at most 128)"
# Ids found valid lately (plain str only). The same few ids (a coordination, its agents) are checked on every
# signal, and on an idle machine a set lookup costs a fraction of the pattern match. Emptied when full.
_SEEN_VALID: set[str] = set()
_SEEN_MAX = 4096


def validate_id(value: object, field: str) -> str:
    """Return ``value`` if it is a valid id, else raise.

    Args:
        value: the candidate id.
        field: the argument name used in the error message.

    Raises:
        InvalidIdError: ``value`` is not a string matching :data:`ID_PATTERN`.
    """
    if type(value) is str and value in _SEEN_VALID:
        return value
    if not isinstance(value, str):
        raise InvalidIdError(field, f"must be a string, got {type(value).__name__}")
    if ID_PATTERN.fullmatch(value) is None:
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise InvalidIdError(field, f"{shown!r} {_RULE}")
    if type(value) is str:
        if len(_SEEN_VALID) >= _SEEN_MAX:
            _SEEN_VALID.clear()
        _SEEN_VALID.add(value)
    return value


def is_valid_id(value: object) -> bool:
    """Tell whether ``value`` would pass :func:`validate_id`."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


# -- fresh ids ------------------------------------------------------------------------------------------------
#
# Signal, routing and metric ids are uuid4 text, as in the seed (version 4, RFC 4122 variant). ``str(uuid.uuid4())``
# costs a system call and a UUID object per id (tens of microseconds on an idle machine, on the way of every
# signal to Redis and of every routing decision). Here an id is 74 random bits drawn once per process (again in a
# forked child), then a counter in the last 12 hex digits: unique within a process by the counter, between
# processes by the random part (two of a billion processes share it with a chance of about 1 in 40,000), and
# made by a counter step and one format. A metric takes only the number when it is recorded; its text is made
# when the metric is read or flushed, the same every time.

# The variant nibble of a uuid4 (RFC 4122: binary 10xx) from any random hex digit, keeping its two low bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _random_prefix() -> str:
    digits = os.urandom(10).hex()
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{_VARIANT[digits[16]]}{digits[17:20]}-"


_prefix = _random_prefix()
# Never replaced, also not in a forked child: the child's ids differ from its parent's by the random part, so
# the count may go on. Taking the next number is then the counter's own (C) method, with no Python frame.
_numbers = itertools.count()

#: Take the next number for :func:`numbered_id` (thread-safe: an itertools counter's ``__next__``).
next_number = _numbers.__next__


def numbered_id(number: int) -> str:
    """Return the id of ``number`` from :func:`next_number`: uuid4 text, the same every time it is asked."""
    # %-formatting: an f-string's format spec is parsed on every call and costs about twice as much.
    return _prefix + "%012x" % (number & 0xFFFFFFFFFFFF)


def new_uuid4() -> str:
    """Return a fresh id in ``str(uuid.uuid4())``'s form (see above: random per process, counted per id)."""
    # numbered_id(next_number()) inline: a routing decision and a signal each take one.
    return _prefix + "%012x" % (next_number() & 0xFFFFFFFFFFFF)


def _after_fork_in_child() -> None:
    # A forked child would hand out its parent's ids: it draws a random part of its own.
    global _prefix
    _prefix = _random_prefix()


os.register_at_fork(after_in_child=_after_fork_in_child)
