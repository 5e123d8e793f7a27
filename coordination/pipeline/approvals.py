"""Approvals: a person's verdict on a gate of one coordination.

A workflow declares a dependency of type ``approval`` (``target`` is the gate, ``approvers`` says who may approve,
as free text: there is no user system). ``approve(cid, gate, by="alice")`` records the verdict once, with who gave
it, when and an optional note, and settles what waits for it in the same step:

- approved: the waiting agents start (once nothing else holds them back);
- rejected: routed like a failed dependency: the waiting agent does not run, and the coordination fails, unless
  the dependency declares ``on_reject`` (``skip``, ``continue``, ``branch:<agent>``) or, without one, a routing rule
  says SKIP or BRANCH (the routing state holds ``approval: rejected``);
- no verdict before the time-out: the declared ``on_timeout`` decides (else routing, as for any time-out).

Refused, with nothing written and the field named: an unknown coordination or gate, a second verdict, a verdict
after the time-out or after the coordination ended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from config.settings import get_settings
from coordination import jsonutil
from coordination.dependency_conditions import record_verdict
from coordination.errors import InvalidInputError
from coordination.ids import validate_id
from coordination.limits import MAX_APPROVAL_NOTE_LENGTH, MAX_APPROVER_NAME_LENGTH
from coordination.models.signals import SignalType
from coordination.pipeline.components import Components, components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.polling import check_dependency
from coordination.pipeline.submission import verdict_signal_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """A recorded verdict and what it did.

    Attributes:
        coordination_id: the coordination.
        gate: the approval gate.
        verdict: ``approved`` or ``rejected``.
        by: who gave it.
        at: when it was recorded (UTC).
        note: the note given with it, if any.
        dependencies: the dependencies it settled.
        started: agents it started (approved) or that the rejection's routing started (a branch).
    """

    coordination_id: str
    gate: str
    verdict: str
    by: str
    at: datetime
    note: str | None
    dependencies: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        """True for an approval, False for a rejection."""
        return self.verdict == "approved"


def approve(
    coordination_id: str,
    gate: str,
    *,
    by: str,
    reject: bool = False,
    note: str | None = None,
    parts: Components | None = None,
) -> Verdict:
    """Approve (or, with ``reject=True``, reject) the approval gate ``gate`` of a coordination, once.

    Args:
        coordination_id: the coordination.
        gate: the approval gate (the ``target`` of its ``approval`` dependencies).
        by: who gives the verdict (free text, 1 to 128 printable characters).
        reject: reject instead of approve.
        note: why, optional (at most 2,000 characters).
        parts: the pipeline components (default: this process's).

    Raises:
        InvalidInputError: a malformed argument; no such coordination, or it has finished; no approval ``gate``
            in it; a verdict was already given; its time-out has passed. Nothing is written.
    """
    validate_id(coordination_id, "coordination_id")
    validate_id(gate, "gate")
    who = _checked_text(by, "by", MAX_APPROVER_NAME_LENGTH, lines=False)
    if not isinstance(reject, bool):
        raise InvalidInputError("reject", f"must be a bool, got {type(reject).__name__}")
    text = None if note is None else _checked_text(note, "note", MAX_APPROVAL_NOTE_LENGTH, lines=True)
    verdict = "rejected" if reject else "approved"
    parts = parts or components()
    dispatcher = Dispatcher(parts)
    now = dispatcher.records.clock()
    data: dict[str, Any] = {"gate": gate, "verdict": verdict, "by": who, "note": text}
    try:
        signal = dispatcher.signal_values(
            coordination_id, SignalType.APPROVAL_VERDICT, "system", data, verdict_signal_id(coordination_id, gate)
        )
    except InvalidInputError as error:  # the ids do not fit in a signal id: no such gate can have been declared
        raise InvalidInputError("gate", f"{gate!r} is not an approval of {coordination_id!r} ({error})") from None
    outcome = record_verdict(
        parts.keys,
        coordination_id,
        gate,
        jsonutil.dumps({**data, "at_ms": now}, "verdict"),
        now_ms=now,
        history=parts.signals.max_history_size,
        grace_ms=get_settings().dispatch_grace_seconds * 1000,
        signal=signal,
    )
    if outcome.refused:
        raise _refusal(coordination_id, gate, outcome.refused, outcome.detail)
    started = dispatcher.start_unblocked(outcome.settled)
    for item in outcome.settled:
        if item.status == "failed":
            # The rejection is routed for the agent that waited, as beat routes it if this process stops here.
            started += check_dependency(dispatcher, coordination_id, item.dependency_id, checked_by=f"approval:{who}")
    logger.info("%s: %s %s by %s", coordination_id, gate, verdict, who)
    return Verdict(
        coordination_id,
        gate,
        verdict,
        who,
        datetime.fromtimestamp(now / 1000, UTC),
        text,
        [item.dependency_id for item in outcome.settled],
        started,
    )


def _checked_text(value: object, field_name: str, limit: int, *, lines: bool) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(field_name, f"must be text, got {type(value).__name__}")
    if not value.strip():
        raise InvalidInputError(field_name, "is blank")
    if len(value) > limit:
        raise InvalidInputError(field_name, f"must be at most {limit} characters, got {len(value)}")
    shown = value.replace("\n", "") if lines else value
    if not shown.isprintable():
        allowed = "printable text and newlines" if lines else "printable text"
        raise InvalidInputError(field_name, f"must be {allowed} (no control characters), got {value[:60]!r}")
    return value.strip()


def _refusal(coordination_id: str, gate: str, reason: str, detail: list[str]) -> InvalidInputError:
    if reason == "unknown":
        return InvalidInputError(
            "coordination_id", f"no coordination {coordination_id!r} in Redis (never submitted, or expired)"
        )
    if reason == "finished":
        return InvalidInputError(
            "coordination_id", f"{coordination_id!r} has finished ({detail[0]}): nothing waits for a verdict any more"
        )
    if reason == "no-gate":
        known = ", ".join(sorted(detail))
        return InvalidInputError(
            "gate",
            f"{gate!r} is not an approval of {coordination_id!r}"
            + (f"; its approvals: {known}" if known else "; it waits for no approval"),
        )
    if reason == "decided":
        before = jsonutil.loads(detail[0])
        at = datetime.fromtimestamp(int(before.get("at_ms", 0)) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return InvalidInputError(
            "gate", f"{gate!r} of {coordination_id!r} was already {before.get('verdict')} by {before.get('by')} at {at}"
        )
    if reason == "timed_out":
        at = datetime.fromtimestamp(int(float(detail[0])) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return InvalidInputError(
            "gate", f"{gate!r} of {coordination_id!r} timed out at {at}: a verdict after its time-out is refused"
        )
    return InvalidInputError("gate", f"{gate!r} of {coordination_id!r} no longer waits for a verdict ({detail[0]})")


__all__ = ["Verdict", "approve"]
