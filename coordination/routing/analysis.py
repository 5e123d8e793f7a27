"""Facts about a state that routing decides on (pure): errors, incomplete data, depth, size, complexity.

The orchestrator's ``state_summary`` and the :class:`~coordination.routing.StateAnalysisRouter` use the same
functions, so they always agree (the seed's summary counted a present-but-falsy ``error`` as an error while its
router did not).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from coordination.models.routing import StateComplexityMetrics

#: Keys whose presence with a truthy value means the state carries an error (seed list).
ERROR_KEYS: tuple[str, ...] = ("error", "errors", "error_count", "failed")
#: Keys whose presence with a falsy value means required data is missing (seed list).
REQUIRED_DATA_KEYS: tuple[str, ...] = ("required_data", "mandatory_fields")

# Below this depth the size estimate of a non-JSON state stops descending (it only feeds a saturating score).
_MAX_ESTIMATE_DEPTH = 200


def has_errors(state: Mapping[str, Any]) -> bool:
    """Tell whether any of :data:`ERROR_KEYS` is present with a truthy value."""
    get = state.get
    try:
        return bool(get("error") or get("errors") or get("error_count") or get("failed"))
    except (TypeError, ValueError):
        # A present value without a truth value (an array-like): it is there and not plainly empty.
        return True


def has_incomplete_data(state: Mapping[str, Any]) -> bool:
    """Tell whether any of :data:`REQUIRED_DATA_KEYS` is present with a falsy value."""
    for key in REQUIRED_DATA_KEYS:
        if key in state:
            try:
                if not state[key]:
                    return True
            except (TypeError, ValueError):
                continue
    return False


def nested_depth(value: Any) -> int:
    """Return the seed's nesting depth: the longest chain of non-empty dicts (``{}`` → 0, ``{"a": 1}`` → 1).

    Lists are not descended (as in the seed). Reference cycles are not followed.
    """
    if not isinstance(value, dict) or not value:
        return 0
    return _safe_depth(value, set())


def _acyclic_depth(mapping: dict[Any, Any]) -> int:
    # Only called on JSON-encodable states, which have no reference cycles.
    deepest = 1
    for child in mapping.values():
        if child and isinstance(child, dict):
            depth = 1 + _acyclic_depth(child)
            if depth > deepest:
                deepest = depth
    return deepest


def _safe_depth(mapping: dict[Any, Any], active: set[int]) -> int:
    active.add(id(mapping))
    deepest = 1
    for child in mapping.values():
        if isinstance(child, dict) and child and id(child) not in active:
            if len(active) >= _MAX_ESTIMATE_DEPTH:
                break
            depth = 1 + _safe_depth(child, active)
            if depth > deepest:
                deepest = depth
    active.discard(id(mapping))
    return deepest


# The deep size is measured with orjson, the C encoder coordination.jsonutil also runs (for its checks) on every
# value it stores: routing measures the state on every decision, and orjson does it several times faster than the
# standard library's encoder (which jsonutil uses to write the text). Non-string keys count as JSON writes them.
_SIZE_OPTIONS = orjson.OPT_NON_STR_KEYS


def json_size(value: Any) -> int | None:
    """Return the UTF-8 size of ``value``'s compact JSON encoding, or None when JSON cannot encode it.

    What orjson refuses (sets, arbitrary objects, integers beyond 64 bits, reference cycles, more than 254 levels)
    gives None; :func:`measure` then estimates the size with :func:`estimate_size`.
    """
    try:
        return len(orjson.dumps(value, option=_SIZE_OPTIONS))
    except (TypeError, ValueError, RecursionError):  # orjson.JSONEncodeError is a TypeError
        return None


def estimate_size(value: Any) -> int:
    """Estimate the size ``value`` would have as compact JSON, for values JSON cannot encode.

    Objects JSON cannot represent count as their ``str()`` in quotes; reference cycles are counted once.
    """
    return _estimate(value, set(), 0)


def _estimate(value: Any, active: set[int], depth: int) -> int:
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace")) + 2
    if isinstance(value, int | float):
        return len(repr(value))
    if depth >= _MAX_ESTIMATE_DEPTH:
        return 0
    if isinstance(value, dict | list | tuple | set | frozenset):
        if id(value) in active:
            return 0
        active.add(id(value))
        try:
            if isinstance(value, dict):
                size = 2 + max(len(value) - 1, 0)
                for key, item in value.items():
                    key_text = key if isinstance(key, str) else str(key)
                    size += len(key_text.encode("utf-8", "replace")) + 3 + _estimate(item, active, depth + 1)
                return size
            return 2 + max(len(value) - 1, 0) + sum(_estimate(item, active, depth + 1) for item in value)
        finally:
            active.discard(id(value))
    try:
        return len(str(value).encode("utf-8", "replace")) + 2
    except Exception:  # an object whose str() fails still takes some room
        return 8


def complexity_score(key_count: int, depth: int, size_bytes: int) -> float:
    """Return the seed's score: ``min(1, keys/100*0.4 + depth/10*0.3 + bytes/1_000_000*0.3)``."""
    return min(1.0, key_count / 100.0 * 0.4 + depth / 10.0 * 0.3 + size_bytes / 1_000_000.0 * 0.3)


def measure(state: Mapping[str, Any]) -> dict[str, Any]:
    """Return the fields of :class:`StateComplexityMetrics` for ``state`` as a plain dict.

    ``total_size_bytes`` is the deep size: the UTF-8 length of the compact JSON encoding, or an estimate of it
    when the state holds values JSON cannot encode (then reference cycles are not followed either).
    """
    size = json_size(state)
    if size is None:
        size = estimate_size(state)
        depth = nested_depth(state)
    else:  # JSON could encode it, so it has no reference cycles to guard against
        depth = _acyclic_depth(state) if state and isinstance(state, dict) else 0
    key_count = len(state)
    return {
        "key_count": key_count,
        "nested_depth": depth,
        "total_size_bytes": size,
        "complexity_score": complexity_score(key_count, depth, size),
        "has_errors": has_errors(state),
        "has_incomplete_data": has_incomplete_data(state),
    }


def state_complexity(state: Mapping[str, Any]) -> StateComplexityMetrics:
    """Measure ``state`` as the :class:`~coordination.routing.StateAnalysisRouter` does."""
    return StateComplexityMetrics.model_validate(measure(state))
