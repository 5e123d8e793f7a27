"""Validation of ids before they become parts of Redis keys (pure)."""

from __future__ import annotations

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
