"""``coord resource mark``, ``coord gate set`` and ``coord approve``: what dependencies wait for.

Resources and gates belong to one coordination: ``coord resource mark CID RESOURCE``, ``coord gate set CID GATE
SCORE``. ``--global`` sets the namespace's value instead, shared by every coordination (for dependencies declared
``scope: global``): ``coord resource mark --global RESOURCE``, ``coord gate set --global GATE SCORE``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from coordination.cli.common import console, guarded
from coordination.cli.safe import safe
from coordination.errors import InvalidInputError
from coordination.pipeline.approvals import approve as record
from coordination.pipeline.conditions import mark_resource, set_gate
from coordination.pipeline.status import read_status

resource_app = typer.Typer(help="Resources that dependencies wait for.", no_args_is_help=True)
gate_app = typer.Typer(help="Quality gates that dependencies wait for.", no_args_is_help=True)

GlobalScope = Annotated[
    bool,
    typer.Option(
        "--global",
        help="Set the namespace's value, shared by every coordination (dependencies declared scope: global), "
        "instead of one coordination's.",
    ),
]


def _split(arguments: list[str], names: tuple[str, ...], global_scope: bool) -> tuple[str | None, list[str]]:
    """``[CID] NAME...`` -> (the coordination id, or None with --global; the rest), checking how many were given."""
    usage = " ".join(names)
    if global_scope:
        if len(arguments) != len(names):
            raise InvalidInputError("arguments", f"with --global: {usage}, got {len(arguments)} argument(s)")
        return None, arguments
    if len(arguments) == len(names):
        raise InvalidInputError(
            "coordination_id",
            f"missing: it belongs to one coordination (CID {usage}); --global {usage} sets it for every "
            "coordination of the namespace (dependencies declared scope: global)",
        )
    if len(arguments) != len(names) + 1:
        raise InvalidInputError("arguments", f"CID {usage} (or --global {usage}), got {len(arguments)} argument(s)")
    return arguments[0], arguments[1:]


def _subject(coordination_id: str | None, what: str) -> str:
    return f"{what} (global)" if coordination_id is None else f"{coordination_id}: {what}"


def _report(subject: str, settled: int, started: list[str]) -> None:
    line = f"{subject}; {settled} waiting dependenc{'y' if settled == 1 else 'ies'} settled"
    console.print(safe(line + (f"; started {', '.join(started)}" if started else "")))


@resource_app.command("mark")
@guarded
def resource_mark(
    arguments: Annotated[
        list[str], typer.Argument(metavar="[CID] RESOURCE", help="The coordination (not with --global), the resource.")
    ],
    unavailable: Annotated[bool, typer.Option("--unavailable", help="Mark it unavailable instead.")] = False,
    global_scope: GlobalScope = False,
) -> None:
    """Mark a resource of a coordination available (or unavailable); its agents waiting only for it start at once."""
    coordination_id, (resource_id,) = _split(arguments, ("RESOURCE",), global_scope)
    change = mark_resource(resource_id, not unavailable, coordination_id=coordination_id, global_scope=global_scope)
    state = "unavailable" if unavailable else "available"
    subject = (
        f"{resource_id}: {state} (global)" if coordination_id is None else f"{coordination_id}: {resource_id}: {state}"
    )
    _report(subject, len(change.settled), change.started)


@gate_app.command("set", context_settings={"ignore_unknown_options": True})  # a score of -0.1 is an argument
@guarded
def gate_set(
    arguments: Annotated[
        list[str],
        typer.Argument(metavar="[CID] GATE SCORE", help="The coordination (not with --global), the gate, the score."),
    ],
    global_scope: GlobalScope = False,
) -> None:
    """Score a quality gate of a coordination (0 to 1); its agents whose threshold the score meets start at once."""
    coordination_id, (gate_id, score_text) = _split(arguments, ("GATE", "SCORE"), global_scope)
    score = _number(score_text, "score")
    change = set_gate(gate_id, score, coordination_id=coordination_id, global_scope=global_scope)
    subject = (
        f"{gate_id}: {score:g} (global)" if coordination_id is None else f"{coordination_id}: {gate_id}: {score:g}"
    )
    _report(subject, len(change.settled), change.started)


@guarded
def approve(
    coordination_id: Annotated[str, typer.Argument(help="The coordination.")],
    gate: Annotated[str, typer.Argument(help="The approval gate (the target of its approval dependency).")],
    by: Annotated[str, typer.Option("--by", help="Who gives the verdict (free text, e.g. your name).")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why (optional; shown and archived).")] = None,
) -> None:
    """Approve (or --reject) an approval gate of a coordination, once; what waits for it goes on at once.

    A rejection is routed like a failed dependency: the waiting agent does not run and the coordination fails,
    unless the dependency declares on_reject (skip, continue, branch:<agent>) or a routing rule skips or branches.
    """
    verdict = record(coordination_id, gate, by=by, reject=reject, note=note)
    line = f"{coordination_id}: {gate} {verdict.verdict} by {verdict.by}"
    if verdict.note:
        line += f" ({verdict.note})"
    if verdict.started:
        line += f"; started {', '.join(verdict.started)}"
    if not verdict.approved:
        status = read_status(coordination_id)
        if status is not None:
            line += f"; the coordination is {status.status}"
    console.print(safe(line))


def _number(text: str, field: str) -> float:
    """A number argument, parsed here so that a bad one is one line naming the field (not a usage screen)."""
    try:
        return float(text)
    except ValueError:
        raise InvalidInputError(field, f"{text!r:.40} is not a number") from None
