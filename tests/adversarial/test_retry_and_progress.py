"""Bad re-runs and bad progress reports: refused with the field named, nothing written.

``retry_coordination`` / ``coord retry`` with malformed or unknown ids, an unknown ``from_agent``, a running or a
completed coordination; ``run.progress`` / ``run.stream`` with values out of range, too long or not text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from coordination import CoordinationNotFoundError, InvalidInputError, Workflow, retry_coordination
from coordination.cli import app
from coordination.pipeline.runtime import AgentRun, execute_attempt
from tests.adversarial.conftest import BAD_ID_VALUES, Store
from tests.adversarial.test_cli import assert_one_line_error
from tests.adversarial.test_gates_and_approvals import ScriptStore, pipeline  # noqa: F401  (the fixture)

pytestmark = pytest.mark.redis


def chain() -> Workflow:
    return Workflow(name="adv-retry", agents={"a": {}, "b": {"depends_on": ["a"]}})


@pytest.fixture
def failed(pipeline: ScriptStore) -> Iterator[str]:  # noqa: F811
    cid = chain().submit(check_agents=False)

    def broken(run: AgentRun) -> dict[str, Any]:
        raise RuntimeError("no")

    assert execute_attempt(broken, cid, "a", 1, task_id="t").status in ("failed", "retrying")
    for attempt in (2, 3, 4):
        execute_attempt(broken, cid, "a", attempt, task_id=f"t{attempt}")
    yield cid


@pytest.mark.parametrize("bad", BAD_ID_VALUES)
def test_a_malformed_coordination_id_or_from_agent_is_refused(pipeline: Store, bad: Any) -> None:  # noqa: F811
    with pipeline.unchanged(), pytest.raises(InvalidInputError) as refused:
        retry_coordination(bad)
    assert refused.value.field == "coordination_id"
    if bad is None:
        return  # from_agent=None means "from where it broke"
    with pipeline.unchanged(), pytest.raises(InvalidInputError) as refused:
        retry_coordination("some-coordination", from_agent=bad)
    assert refused.value.field == "from_agent"


def test_an_unknown_coordination_is_not_found(pipeline: Store) -> None:  # noqa: F811
    with pipeline.unchanged(), pytest.raises(CoordinationNotFoundError):
        retry_coordination("never-submitted")
    result = CliRunner().invoke(app, ["retry", "never-submitted"])
    assert result.exit_code == 1 and "never-submitted" in result.stderr


def test_an_unknown_from_agent_is_refused_and_nothing_changes(pipeline: Store, failed: str) -> None:  # noqa: F811
    with pipeline.unchanged(), pytest.raises(InvalidInputError) as refused:
        retry_coordination(failed, from_agent="ghost")
    assert refused.value.field == "from_agent" and "ghost" in refused.value.problem
    line = assert_one_line_error(CliRunner().invoke(app, ["retry", failed, "--from", "ghost"]))
    assert "from_agent" in line and "ghost" in line


def test_a_running_coordination_is_refused_naming_its_state(pipeline: Store) -> None:  # noqa: F811
    cid = chain().submit(check_agents=False)
    with pipeline.unchanged(), pytest.raises(InvalidInputError) as refused:
        retry_coordination(cid)
    assert refused.value.field == "coordination_id" and "is running" in refused.value.problem
    line = assert_one_line_error(CliRunner().invoke(app, ["retry", cid]))
    assert "is running" in line


def test_from_an_agent_whose_upstream_failed_is_refused(pipeline: Store, failed: str) -> None:  # noqa: F811
    with pipeline.unchanged(), pytest.raises(InvalidInputError) as refused:
        retry_coordination(failed, from_agent="b")
    assert refused.value.field == "from_agent" and "'a'" in refused.value.problem


BAD_FRACTIONS: list[Any] = [-0.01, 1.01, math.nan, math.inf, -math.inf, True, "0.5", None, [0.5], 10**400]


@pytest.mark.parametrize("bad", BAD_FRACTIONS, ids=repr)
def test_a_bad_progress_fraction_is_refused_and_nothing_written(pipeline: ScriptStore, bad: Any) -> None:  # noqa: F811
    cid = Workflow(name="adv-progress", agents={"a": {}}).submit(check_agents=False)
    caught: list[InvalidInputError] = []

    def reports(run: AgentRun) -> dict[str, Any]:
        with pipeline.unchanged():
            for call in (
                lambda: run.progress(bad),
                lambda: run.progress(0.5, "x" * 501),
                lambda: run.progress(0.5, 42),  # type: ignore[arg-type]
                lambda: run.stream("y" * 8193),
                lambda: run.stream(b"bytes"),  # type: ignore[arg-type]
                lambda: run.stream("\ud800"),
            ):
                with pytest.raises(InvalidInputError) as refused:
                    call()
                caught.append(refused.value)
        return {}

    assert execute_attempt(reports, cid, "a", 1, task_id="t").status == "completed"
    assert [error.field for error in caught] == ["fraction", "message", "message", "text", "text", "text"]
