"""Bad verdicts, gate scores, resource marks and declarations: refused with the field named, nothing written.

A verdict on an unknown coordination or gate, a second verdict, one after the time-out or after the coordination
ended; a value for no coordination, for one that does not exist or has finished, or for a target the coordination
declares global; malformed names, notes and scores; declarations that put fields on the wrong dependency type.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from typer.testing import CliRunner

from coordination import (
    InvalidInputError,
    Workflow,
    WorkflowError,
    approve,
    cancel_coordination,
    mark_resource,
    set_gate,
)
from coordination.cli import app
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.polling import poll
from coordination.pipeline.records import now_ms
from coordination.store.connection import reset_clients, sync_client
from coordination.store.scripts import REPLY_TTL_MS
from tests.adversarial.conftest import BAD_ID_VALUES, Store
from tests.adversarial.test_cli import assert_one_line_error

pytestmark = pytest.mark.redis


class ScriptStore(Store):
    """The namespace's keys, without the replies guarded scripts keep for a minute (a refusal is a reply too).

    A refusal found by a script (an unknown gate, a second verdict...) changes nothing, but its reply guard stores
    the refusal under ``reply:<token>`` so that a resend of the same call gets it: that key must expire.
    """

    def snapshot(self) -> dict[str, Any]:
        client = sync_client()
        found = super().snapshot()
        replies = [key for key in found if ":reply:" in key]
        assert all(0 < client.pttl(key) <= REPLY_TTL_MS for key in replies), "a script reply would never expire"
        return {key: value for key, value in found.items() if key not in replies}


@pytest.fixture
def pipeline(pipeline_namespace: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The test's own pipeline namespace (agent messages dropped, never published); yields its store view."""
    reset_clients()
    monkeypatch.setattr(Dispatcher, "publish", lambda self, task, queue, item, task_id=None: None)
    yield ScriptStore(pipeline_namespace)
    reset_clients()


def workflow(**dependency: Any) -> Workflow:
    return Workflow(
        name="adv-gates",
        agents={"a": {}, "b": {}},
        dependencies=[
            {"id": "release", "agent": "b", "type": "approval", "target": "release-approval", "timeout": 30},
            {"id": "slot", "agent": "b", "type": "resource_availability", "target": "db", "scope": "global"},
            {"id": "quality", "agent": "b", "type": "quality_gate", "target": "model-quality"},
            *([dependency] if dependency else []),
        ],
    )


def refused(call: Callable[[], Any], store: Store, field: str, *words: str) -> str:
    with store.unchanged(), pytest.raises(InvalidInputError) as error:
        call()
    assert error.value.field == field, error.value
    for word in words:
        assert word in error.value.problem, error.value.problem
    return error.value.problem


# -- verdicts --------------------------------------------------------------------------------------------------


def test_a_verdict_on_an_unknown_coordination_is_refused(pipeline: Store) -> None:
    refused(lambda: approve("adv-gates-000000000000", "release-approval", by="a"), pipeline, "coordination_id", "no ")


def test_a_verdict_on_an_unknown_gate_names_the_coordinations_approvals(pipeline: Store) -> None:
    cid = workflow().submit(check_agents=False)
    problem = refused(lambda: approve(cid, "model-quality", by="a"), pipeline, "gate", "not an approval")
    assert "release-approval" in problem


def test_a_verdict_on_a_coordination_without_approvals_says_so(pipeline: Store) -> None:
    for agents in ({"a": {}}, {"a": {}, "b": {"depends_on": ["a"]}}):
        cid = Workflow(name="adv-plain", agents=agents).submit(check_agents=False)
        refused(partial(approve, cid, "release-approval", by="a"), pipeline, "gate", "waits for no approval")


def test_a_second_verdict_is_refused_whoever_gives_it(pipeline: Store) -> None:
    cid = workflow().submit(check_agents=False)
    approve(cid, "release-approval", by="alice", note="fine")
    refused(lambda: approve(cid, "release-approval", by="alice"), pipeline, "gate", "already approved by alice")
    refused(lambda: approve(cid, "release-approval", by="bob", reject=True), pipeline, "gate", "already approved")


def test_a_verdict_after_the_deadline_is_refused_before_and_after_beat_settled_it(pipeline: Store) -> None:
    cid = Workflow(
        name="adv-late",
        agents={"b": {}},
        dependencies=[{"id": "release", "agent": "b", "type": "approval", "target": "ok", "timeout": 0.05}],
    ).submit(check_agents=False)
    time.sleep(0.1)  # past its deadline; beat has not polled
    refused(lambda: approve(cid, "ok", by="alice"), pipeline, "gate", "timed out")
    poll(now=now_ms())  # beat settles the time-out (and fails the coordination: no on_timeout)
    with pipeline.unchanged(), pytest.raises(InvalidInputError) as error:
        approve(cid, "ok", by="alice")
    assert error.value.field in ("gate", "coordination_id")


def test_a_verdict_on_a_finished_coordination_is_refused(pipeline: Store) -> None:
    cid = workflow().submit(check_agents=False)
    cancel_coordination(cid, "changed our minds")
    refused(lambda: approve(cid, "release-approval", by="alice"), pipeline, "coordination_id", "has finished")


@pytest.mark.parametrize("bad", BAD_ID_VALUES, ids=repr)
def test_ids_that_cannot_be_keys_are_refused_in_verdicts(pipeline: Store, bad: Any) -> None:
    cid = workflow().submit(check_agents=False)
    refused(lambda: approve(bad, "release-approval", by="a"), pipeline, "coordination_id")
    refused(lambda: approve(cid, bad, by="a"), pipeline, "gate")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("by", "", "blank"),
        ("by", "   ", "blank"),
        ("by", "x" * 129, "at most 128"),
        ("by", "ali\x1bce", "control characters"),
        ("by", "two\nlines", "control characters"),
        ("by", 42, "must be text"),
        ("by", None, "must be text"),
        ("note", "x" * 2001, "at most 2000"),
        ("note", "bell\x07", "control characters"),
        ("note", "", "blank"),
        ("note", ["list"], "must be text"),
        ("reject", "yes", "must be a bool"),
    ],
)
def test_malformed_names_notes_and_flags_are_refused(pipeline: Store, field: str, value: Any, words: str) -> None:
    cid = workflow().submit(check_agents=False)
    arguments: dict[str, Any] = {"by": "alice", field: value}
    refused(lambda: approve(cid, "release-approval", **arguments), pipeline, field, words)


def test_a_note_may_have_several_lines(pipeline: Store) -> None:
    cid = workflow().submit(check_agents=False)
    assert approve(cid, "release-approval", by="Alice Example", note="line one\nline two").note == (
        "line one\nline two"
    )


# -- resources and gates ---------------------------------------------------------------------------------------


def test_a_value_for_no_coordination_is_refused_naming_coordination_id(pipeline: Store) -> None:
    refused(lambda: set_gate("model-quality", 0.9), pipeline, "coordination_id", "global_scope=True")
    refused(lambda: mark_resource("artifact-store"), pipeline, "coordination_id", "belongs to one coordination")
    refused(lambda: mark_resource("r", coordination_id="x", global_scope=True), pipeline, "global_scope")
    refused(lambda: mark_resource("r", global_scope="yes"), pipeline, "global_scope", "bool")  # type: ignore[arg-type]


def test_a_value_for_an_unknown_or_finished_coordination_is_refused(pipeline: Store) -> None:
    refused(
        lambda: set_gate("model-quality", 0.9, coordination_id="adv-gates-000000000000"),
        pipeline,
        "coordination_id",
        "no coordination",
    )
    cid = workflow().submit(check_agents=False)
    cancel_coordination(cid, "stop")
    refused(lambda: mark_resource("artifact-store", coordination_id=cid), pipeline, "coordination_id", "finished")


def test_a_target_the_coordination_declares_global_is_refused_for_one_run(pipeline: Store) -> None:
    cid = workflow().submit(check_agents=False)
    refused(lambda: mark_resource("db", coordination_id=cid), pipeline, "resource_id", "scope: global", "'slot'")


@pytest.mark.parametrize("score", [math.nan, math.inf, -0.1, 1.5, True, "0.9", None], ids=repr)
def test_scores_that_are_not_numbers_from_0_to_1_are_refused(pipeline: Store, score: Any) -> None:
    cid = workflow().submit(check_agents=False)
    refused(lambda: set_gate("model-quality", score, coordination_id=cid), pipeline, "score")


@pytest.mark.parametrize("bad", BAD_ID_VALUES, ids=repr)
def test_ids_that_cannot_be_keys_are_refused_in_marks_and_scores(pipeline: Store, bad: Any) -> None:
    cid = workflow().submit(check_agents=False)
    refused(lambda: mark_resource(bad, coordination_id=cid), pipeline, "resource_id")
    refused(lambda: set_gate(bad, 0.5, coordination_id=cid), pipeline, "gate_id")
    refused(lambda: set_gate("g", 0.5, coordination_id=bad), pipeline, "coordination_id")


def test_available_must_be_a_bool(pipeline: Store) -> None:
    cid = workflow().submit(check_agents=False)
    refused(lambda: mark_resource("r", "yes", coordination_id=cid), pipeline, "available")  # type: ignore[arg-type]


# -- the command line ------------------------------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["gate", "set", "model-quality", "0.9"], "error: coordination_id: missing"),
        (["resource", "mark", "artifact-store"], "error: coordination_id: missing"),
        (["gate", "set", "--global", "c", "model-quality", "0.9"], "error: arguments: with --global"),
        (["resource", "mark", "a", "b", "c"], "error: arguments: "),
        (["approve", "adv-gates-000000000000", "release-approval", "--by", "x"], "error: coordination_id: no "),
        (["approve", "--by", "x", "--", "-bad", "release-approval"], "error: coordination_id: "),
        (["approve", "CID", "release-approval", "--by", ""], "error: by: is blank"),
    ],
)
def test_the_command_line_refuses_in_one_line_naming_the_field(pipeline: Store, args: list[str], start: str) -> None:
    cid = workflow().submit(check_agents=False)
    with pipeline.unchanged():
        line = assert_one_line_error(run(*[cid if part == "CID" else part for part in args]))
    assert line.startswith(start), line


def test_the_command_line_refuses_a_second_verdict(pipeline: Store) -> None:
    cid = workflow().submit(check_agents=False)
    first = run("approve", cid, "release-approval", "--by", "alice", "--note", "ok")
    assert first.exit_code == 0, first.stdout + first.stderr
    assert f"{cid}: release-approval approved by alice (ok)" in first.stdout
    with pipeline.unchanged():
        line = assert_one_line_error(run("approve", cid, "release-approval", "--by", "bob", "--reject"))
    assert line.startswith("error: gate: ") and "already approved by alice" in line


# -- declarations ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dependency", "field", "words"),
    [
        ({"type": "approval", "scope": "global"}, "dependencies[0].scope", "only resource_availability"),
        ({"type": "agent_completion", "target": "a", "scope": "global"}, "dependencies[0].scope", "only"),
        ({"type": "quality_gate", "scope": "everywhere"}, "dependencies[0].scope", "'run' or 'global'"),
        ({"type": "quality_gate", "approvers": "editors"}, "dependencies[0].approvers", "only approval"),
        ({"type": "resource_availability", "on_reject": "skip"}, "dependencies[0].on_reject", "only approval"),
        ({"type": "approval", "on_timeout": "retry"}, "dependencies[0].on_timeout", "fail, skip, continue"),
        ({"type": "approval", "on_reject": "branch:"}, "dependencies[0].on_reject", "branch:<agent>"),
        ({"type": "approval", "on_reject": "branch:nobody"}, "dependencies[0].on_reject", "unknown agent 'nobody'"),
        ({"type": "approval", "on_timeout": "branch:b"}, "dependencies[0].on_timeout", "cannot branch to the agent"),
        ({"type": "approval", "approvers": ""}, "dependencies[0].approvers", "at least 1"),
        ({"type": "approval", "approvers": "x" * 201}, "dependencies[0].approvers", "at most 200"),
        ({"type": "approval", "approvers": "eds\x1b[2J"}, "dependencies[0].approvers", "control characters"),
        ({"type": "approval", "approvers": 7}, "dependencies[0].approvers", "string"),
    ],
)
def test_declarations_with_fields_of_the_wrong_kind_are_refused(
    dependency: dict[str, Any], field: str, words: str
) -> None:
    declaration = {"id": "d", "agent": "b", "target": "t", **dependency}
    with pytest.raises(InvalidInputError) as error:
        Workflow(name="adv-decl", agents={"a": {}, "b": {}}, dependencies=[declaration])
    assert isinstance(error.value, WorkflowError | InvalidInputError)
    assert error.value.field == field, error.value
    assert words in error.value.problem, error.value.problem


def test_an_approval_gate_whose_verdict_signal_id_would_not_fit_is_refused_at_submission(pipeline: Store) -> None:
    long_gate = "g" * 120
    spec = Workflow(
        name="adv-long",
        agents={"b": {}},
        dependencies=[{"id": "r", "agent": "b", "type": "approval", "target": long_gate}],
    )
    with pipeline.unchanged(), pytest.raises(InvalidInputError) as error:
        spec.submit(check_agents=False)
    assert error.value.field.startswith("dependencies.r.target"), error.value
