"""Pure planning helpers: dependency-graph validation and ordering (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coordination.errors import WorkflowError


def topological_order(depends_on: Mapping[str, Sequence[str]], field: str = "dependencies") -> list[str]:
    """Order agents so that every agent comes after the agents it depends on.

    Ties keep the declaration order, so the result is deterministic.

    Args:
        depends_on: agent id -> the agent ids it waits for.
        field: name used in error messages.

    Raises:
        WorkflowError: an agent depends on an unknown agent or on itself, or the dependencies form a cycle
            (the message shows the cycle).
    """
    for agent, upstream in depends_on.items():
        for other in upstream:
            if other == agent:
                raise WorkflowError(f"{field}[{agent!r}]", "an agent cannot depend on itself")
            if other not in depends_on:
                raise WorkflowError(f"{field}[{agent!r}]", f"depends on unknown agent {other!r}")
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(agent: str, path: list[str]) -> None:
        mark = state.get(agent)
        if mark == 2:
            return
        if mark == 1:
            cycle = [*path[path.index(agent) :], agent]
            raise WorkflowError(field, "dependency cycle: " + " -> ".join(cycle))
        state[agent] = 1
        for other in depends_on[agent]:
            visit(other, [*path, agent])
        state[agent] = 2
        order.append(agent)

    for agent in depends_on:
        visit(agent, [])
    return order
