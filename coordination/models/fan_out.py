"""Fan-out over a result (``map:``), the pure part: item ids, and the list an agent maps over (no I/O).

An agent declared with ``map: {over: "<upstream>.<path>", max_items: N}`` runs once per item of the list found at
``<path>`` in the upstream agent's result. Each item is an agent record of its own under a derived id,
``<agent>.<index>`` (0-based), so that admission, leases, renewal, beat's repair and the once-only settlement of
an attempt work for items exactly as for agents; the map agent's own record holds the count and, once the last
item settles, the combined result (the list of item results in item order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The separator between a map agent's id and an item's index in the item's id.
ITEM_SEPARATOR = "."


class MapInputError(ValueError):
    """The upstream result holds no list the map agent can run over (or one with too many items)."""


def item_id(agent_id: str, index: int) -> str:
    """The id of item ``index`` (0-based) of map agent ``agent_id``: ``<agent>.<index>``."""
    return f"{agent_id}{ITEM_SEPARATOR}{index}"


def split_item_id(candidate: str, map_agents: Mapping[str, Any]) -> tuple[str, int] | None:
    """``(map agent, index)`` if ``candidate`` is the id of an item of one of ``map_agents``, else None."""
    parent, separator, index = candidate.rpartition(ITEM_SEPARATOR)
    if not separator or parent not in map_agents or not index.isdigit() or str(int(index)) != index:
        return None
    return parent, int(index)


def split_over(over: str) -> tuple[str, list[str]]:
    """Split ``over`` (``<upstream agent>.<path>``) into the upstream agent and the path's keys.

    Agent ids may contain dots, so the caller resolves which prefix is the agent (see :func:`resolve_over`); this
    splits at the first dot.
    """
    agent, _, path = over.partition(".")
    return agent, path.split(".") if path else []


def resolve_over(over: str, agents: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """The upstream agent and path keys ``over`` names, choosing the longest agent id that prefixes it.

    Returns None when no agent of ``agents`` is a dot-terminated prefix of ``over`` with a non-empty path after it.
    """
    parts = over.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        agent = ".".join(parts[:cut])
        if agent in agents:
            return agent, parts[cut:]
    return None


def items_at(result: Any, path: list[str], *, max_items: int, where: str) -> list[Any]:
    """The list at ``path`` in an upstream ``result``: what a map agent runs over.

    Args:
        result: the upstream agent's recorded result (decoded JSON; None when it recorded none).
        path: the keys to follow (``["files"]`` for ``over: "planner.files"``).
        max_items: the declared bound on items.
        where: how to name the location in errors (``planner.files``).

    Raises:
        MapInputError: a key is missing, a step is not an object, the value is not a list, or it has more than
            ``max_items`` items (checked before any item runs).
    """
    value = result
    walked: list[str] = []
    for key in path:
        if not isinstance(value, dict):
            at = ".".join(walked) or "the result"
            raise MapInputError(f"map over {where}: {at} is {_kind(value)}, not an object with key {key!r}")
        if key not in value:
            at = ".".join([*walked, key])
            raise MapInputError(f"map over {where}: the upstream result has no {at!r}")
        value = value[key]
        walked.append(key)
    if not isinstance(value, list):
        raise MapInputError(f"map over {where}: expected a list, got {_kind(value)}")
    if len(value) > max_items:
        raise MapInputError(f"map over {where}: {len(value)} items, max_items is {max_items}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null (missing)"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def item_counts(statuses: list[str]) -> dict[str, int]:
    """How many items are in each status, in a stable order for display (done first)."""
    order = ["completed", "running", "retrying", "queued", "failed", "timed_out", "skipped", "cancelled"]
    counts = {status: statuses.count(status) for status in order if status in statuses}
    for status in statuses:
        counts.setdefault(status, statuses.count(status))
    return counts


def count_summary(count: int, counts: Mapping[str, int]) -> str:
    """``×12 (10 done, 1 running, 1 queued)``: a map agent's items in one line."""
    words = {"completed": "done"}
    shown = ", ".join(f"{number} {words.get(status, status)}" for status, number in counts.items() if number)
    return f"×{count}" + (f" ({shown})" if shown else "")
