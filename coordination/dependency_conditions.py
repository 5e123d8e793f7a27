"""What one coordination's own dependencies wait for: its resources, its quality gates and its approval verdicts.

Each change is one script run (``condition_set.lua``, ``approval_verdict.lua``) that checks everything first,
writes the value into the coordination's own keys (``conditions``, ``approvals``) and settles, in the same step,
the dependencies of that coordination waiting on it: a value set for one coordination never opens another. (The
namespace-wide values of the seed's API, ``DependencyResolver.mark_resource_available`` and
``update_quality_gate_score``, are the ``scope: global`` case and stay in the namespace's state.)

A refusal writes nothing and says why (:attr:`ScriptOutcome.refused`); the pipeline's public functions
(:mod:`coordination.pipeline.conditions`, :mod:`coordination.pipeline.approvals`) turn it into an error that names
the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from coordination.signals import SettledDependency, parse_settled
from coordination.store.connection import sync_client
from coordination.store.keys import Keys
from coordination.store.scripts import script

ConditionKind = Literal["resource", "gate"]


@dataclass(frozen=True)
class ScriptOutcome:
    """What a condition or verdict script did.

    Attributes:
        refused: '' when it wrote; otherwise why not: ``unknown`` (no such coordination), ``finished``,
            ``global`` (the coordination declares the target ``scope: global``), ``no-gate``, ``decided``,
            ``timed_out``, ``settled``.
        detail: what goes with a refusal (the status, the dependency, the approval gates, the earlier verdict...).
        settled: the dependencies it settled, with the agents they made ready (queued: the caller sends them).
    """

    refused: str
    detail: list[str] = field(default_factory=list)
    settled: list[SettledDependency] = field(default_factory=list)


def _outcome(reply: list[Any], written: str) -> ScriptOutcome:
    head, *rest = (str(item) for item in reply)
    if head != written:
        return ScriptOutcome(head, rest)
    marker = rest.index("|")
    return ScriptOutcome("", [], parse_settled(rest[:marker], rest[marker + 1 :]))


def set_run_condition(
    keys: Keys,
    coordination_id: str,
    kind: ConditionKind,
    target: str,
    value_json: str,
    *,
    set_by: str,
    now_ms: int,
    grace_ms: int,
) -> ScriptOutcome:
    """Set a coordination's own resource availability (``kind`` resource) or gate score (``gate``).

    Args:
        keys: the pipeline namespace's keys.
        coordination_id: the coordination (validated by the caller, as are ``target`` and ``value_json``).
        kind: ``resource`` or ``gate``.
        target: the resource or gate id.
        value_json: the value as JSON (``true``/``false``, or the score).
        set_by: who set it (recorded on the dependencies it settles, as ``resolved_by``).
        now_ms: the time of the change.
        grace_ms: how long a queued agent's message may take to be sent before beat re-sends it.
    """
    reply = script("condition_set")(
        sync_client(),
        [],
        [
            keys.namespace_prefix,
            keys.coordination_prefix,
            now_ms,
            coordination_id,
            kind,
            target,
            value_json,
            set_by,
            grace_ms,
        ],
    )
    return _outcome(reply, "set")


def record_verdict(
    keys: Keys,
    coordination_id: str,
    gate: str,
    verdict_json: str,
    *,
    now_ms: int,
    history: int,
    grace_ms: int,
    signal: list[str],
) -> ScriptOutcome:
    """Record the verdict on an approval gate of a coordination (once) and settle what waits for it.

    Approved dependencies resolve; rejected ones fail and are left due at once, for the caller to route (or beat,
    if the caller stops first).

    Args:
        keys: the pipeline namespace's keys.
        coordination_id: the coordination (validated by the caller).
        gate: the approval gate (validated by the caller).
        verdict_json: ``{"verdict": "approved"|"rejected", "by", "at_ms", "note"}`` as JSON.
        now_ms: the time of the verdict (the ``at_ms`` in ``verdict_json``).
        history: the coordination's signal stream cap.
        grace_ms: how long a queued agent's message may take to be sent before beat re-sends it.
        signal: the ``approval_verdict`` signal's 8 stored values.
    """
    reply = script("approval_verdict")(
        sync_client(),
        [],
        [
            keys.namespace_prefix,
            keys.coordination_prefix,
            now_ms,
            coordination_id,
            gate,
            verdict_json,
            history,
            grace_ms,
            *signal,
        ],
    )
    return _outcome(reply, "recorded")


def release_dependency(
    keys: Keys, coordination_id: str, dependency_id: str, *, now_ms: int, grace_ms: int
) -> tuple[bool, list[str]]:
    """Stop a timed-out or rejected dependency from holding its agent back (a declared ``continue``), once.

    Returns whether this call released it, and the attempts it queued (``cid/agent/attempt/countdown_ms``: the
    agent, when nothing else holds it back any more; the caller sends them, else beat does after the grace).
    """
    released, *queued = script("deps_release")(
        sync_client(),
        [],
        [keys.namespace_prefix, keys.coordination_prefix, now_ms, coordination_id, dependency_id, grace_ms],
    )
    if str(released) != "released":
        return False, []  # (the reply then says why: already released, or not timed out or rejected)
    return True, [str(item) for item in queued]


__all__ = ["ConditionKind", "ScriptOutcome", "record_verdict", "release_dependency", "set_run_condition"]
