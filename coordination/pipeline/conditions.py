"""Marking resources and scoring quality gates: for one coordination by default, for every one only when asked.

``mark_resource("artifact-store", coordination_id=cid)`` and ``set_gate("model-quality", 0.9, coordination_id=cid)``
change what that coordination's dependencies wait for, and nothing else: another run of the same workflow keeps
waiting for its own. A resource shared by every coordination (a database, a deploy slot) is declared
``scope: global`` in the workflow and marked with ``global_scope=True`` (the seed's namespace-wide state keys,
``resource_<id>_available`` / ``quality_gate_<id>_score``). Giving neither is refused, so a value meant for one run
can no longer open every later run of the namespace by accident.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from config.settings import get_settings
from coordination import jsonutil
from coordination.dependencies import checked_score
from coordination.dependency_conditions import ConditionKind, set_run_condition
from coordination.errors import InvalidInputError
from coordination.ids import validate_id
from coordination.pipeline.components import Components, components
from coordination.pipeline.dispatch import Dispatcher
from coordination.signals import SettledDependency

logger = logging.getLogger(__name__)

_WHAT = {"resource": ("resource_id", "resource", "mark_resource"), "gate": ("gate_id", "quality gate", "set_gate")}


@dataclass(frozen=True)
class ConditionChange:
    """What marking a resource or scoring a gate did.

    Attributes:
        target: the resource or gate id.
        value: the availability (resources) or score (gates) set.
        coordination_id: the coordination it was set for; None for a global value.
        settled: the dependencies it settled.
        started: the agents it started (their first attempts were sent).
    """

    target: str
    value: bool | float
    coordination_id: str | None
    settled: list[SettledDependency] = field(default_factory=list)
    started: list[str] = field(default_factory=list)


def mark_resource(
    resource_id: str,
    available: bool = True,
    *,
    coordination_id: str | None = None,
    global_scope: bool = False,
    parts: Components | None = None,
) -> ConditionChange:
    """Mark a resource (un)available for one coordination, or for every one with ``global_scope=True``.

    The agents of that coordination waiting only for it start at once.

    Raises:
        InvalidInputError: bad ids; neither or both of ``coordination_id`` and ``global_scope``; no such
            coordination, or it has finished; the coordination declares this resource ``scope: global``. Nothing
            is written.
    """
    validate_id(resource_id, "resource_id")
    if not isinstance(available, bool):
        raise InvalidInputError("available", f"must be a bool, got {type(available).__name__}")
    return _change("resource", resource_id, available, coordination_id, global_scope, parts)


def set_gate(
    gate_id: str,
    score: float,
    *,
    coordination_id: str | None = None,
    global_scope: bool = False,
    parts: Components | None = None,
) -> ConditionChange:
    """Score a quality gate (0..1) for one coordination, or for every one with ``global_scope=True``.

    The agents of that coordination whose threshold the score meets start at once.

    Raises:
        InvalidInputError: as :func:`mark_resource`, and a score that is not a number from 0 to 1.
    """
    validate_id(gate_id, "gate_id")
    return _change("gate", gate_id, checked_score(score, "score"), coordination_id, global_scope, parts)


def _change(
    kind: ConditionKind,
    target: str,
    value: bool | float,
    coordination_id: str | None,
    global_scope: bool,
    parts: Components | None,
) -> ConditionChange:
    field_name, noun, function = _WHAT[kind]
    if not isinstance(global_scope, bool):
        raise InvalidInputError("global_scope", f"must be a bool, got {type(global_scope).__name__}")
    if global_scope and coordination_id is not None:
        raise InvalidInputError(
            "global_scope", f"a global {noun} belongs to no coordination: give coordination_id or global_scope=True"
        )
    if not global_scope and coordination_id is None:
        raise InvalidInputError(
            "coordination_id",
            f"is required: a {noun} belongs to one coordination ({function}({target!r}, ..., coordination_id=CID)); "
            f"global_scope=True sets it for every coordination of the namespace (declared scope: global)",
        )
    parts = parts or components()
    dispatcher = Dispatcher(parts)
    if coordination_id is None:
        resolver = parts.resolver
        if kind == "resource":
            settled = resolver.mark_resource_available_sync(target, bool(value))
        else:
            settled = resolver.update_quality_gate_score_sync(target, float(value))
        return ConditionChange(target, value, None, settled, dispatcher.start_unblocked(settled))
    validate_id(coordination_id, "coordination_id")
    outcome = set_run_condition(
        parts.keys,
        coordination_id,
        kind,
        target,
        jsonutil.dumps(value, field_name),
        set_by=f"{kind}:{target}",
        now_ms=dispatcher.records.clock(),
        grace_ms=get_settings().dispatch_grace_seconds * 1000,
    )
    if outcome.refused == "unknown":
        raise InvalidInputError(
            "coordination_id", f"no coordination {coordination_id!r} in Redis (never submitted, or expired)"
        )
    if outcome.refused == "finished":
        raise InvalidInputError(
            "coordination_id",
            f"{coordination_id!r} has finished ({outcome.detail[0]}): nothing waits for its {noun}s any more",
        )
    if outcome.refused == "global":
        raise InvalidInputError(
            field_name,
            f"{target!r} is declared scope: global in {coordination_id!r} (dependency {outcome.detail[0]!r}): it is "
            f"shared by every coordination; set it with global_scope=True (coord ... --global)",
        )
    return ConditionChange(target, value, coordination_id, outcome.settled, dispatcher.start_unblocked(outcome.settled))


__all__ = ["ConditionChange", "mark_resource", "set_gate"]
