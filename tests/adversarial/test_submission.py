"""A refused submission writes nothing and leaves nothing active: everything the run needs is checked first."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from config.settings import reload_settings
from coordination import Workflow, cancel_coordination
from coordination.errors import InvalidIdError, InvalidInputError, PayloadTooLargeError, WorkflowError
from coordination.pipeline.components import components
from coordination.store.connection import reset_clients, sync_client
from tests.conftest import keys_of

pytestmark = pytest.mark.redis


@pytest.fixture
def pipeline(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A pipeline namespace of its own; yields it."""
    namespace = f"adv-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", namespace)
    reload_settings()
    reset_clients()
    yield namespace
    monkeypatch.undo()
    reload_settings()
    reset_clients()


def long_id(length: int, prefix: str = "x") -> str:
    return (prefix + "a" * length)[:length]


def many_agents(count: int, length: int = 100) -> dict[str, Any]:
    return {f"{long_id(length - 6)}{n:06d}": {} for n in range(count)}


CASES: list[tuple[str, dict[str, Any], dict[str, Any], type[Exception], str]] = [
    # (case, workflow declaration, submit() keyword arguments, error type, field named in the error)
    (
        "coordination id over 128",
        {"agents": {"a": {}}},
        {"coordination_id": long_id(129)},
        InvalidIdError,
        "coordination_id",
    ),
    (
        "coordination id that fills 128",
        {"agents": {"a": {}}},
        {"coordination_id": long_id(128)},
        InvalidIdError,
        "coordination_id",
    ),
    (
        "a signal id over 128 from a long id and a long agent",
        {"agents": {long_id(100, "g"): {}}},
        {"coordination_id": long_id(40, "c")},
        InvalidIdError,
        "agents.",
    ),
    (
        "a dependency id over 128",
        {
            "agents": {"a": {}},
            "dependencies": [{"id": long_id(110, "d"), "agent": "a", "type": "quality_gate", "target": "g"}],
        },
        {"coordination_id": long_id(20, "c")},
        InvalidIdError,
        "dependencies.",
    ),
    ("id with a brace", {"agents": {"a": {}}}, {"coordination_id": "c{x}"}, InvalidIdError, "coordination_id"),
    ("input that is not JSON", {"agents": {"a": {}}}, {"input": {1, 2}}, InvalidInputError, "input"),
    ("input NaN", {"agents": {"a": {}}}, {"input": float("nan")}, InvalidInputError, "input"),
    ("input too large", {"agents": {"a": {}}}, {"input": "x" * (300 * 1024)}, PayloadTooLargeError, "input"),
    ("too many agents for the started signal", {"agents": many_agents(1200, 60)}, {}, WorkflowError, "agents"),
]


@pytest.mark.parametrize(("case", "declaration", "arguments", "error", "field"), CASES, ids=[case[0] for case in CASES])
def test_a_refused_submission_writes_nothing_and_activates_nothing(
    pipeline: str, case: str, declaration: dict[str, Any], arguments: dict[str, Any], error: type[Exception], field: str
) -> None:
    workflow = Workflow(name="adv", **declaration)
    active = components().keys.active
    before = keys_of(pipeline)

    with pytest.raises(error) as refused:
        workflow.submit(check_agents=False, **arguments)

    assert field in str(refused.value)
    assert keys_of(pipeline) == before == []
    assert sync_client().scard(active) == 0


def test_a_taken_id_is_refused_and_the_running_coordination_is_untouched(pipeline: str) -> None:
    workflow = Workflow(name="adv", agents={"a": {}, "b": {"depends_on": ["a"]}})
    cid = workflow.submit(check_agents=False, coordination_id="adv-taken-1")
    keys = sorted(keys_of(pipeline))
    snapshot = {key: sync_client().dump(key) for key in keys}

    with pytest.raises(InvalidInputError) as refused:
        workflow.submit(check_agents=False, coordination_id=cid)

    assert refused.value.field == "coordination_id" and "already exists" in str(refused.value)
    assert {key: sync_client().dump(key) for key in sorted(keys_of(pipeline))} == snapshot


def test_cancelling_with_an_id_too_long_for_its_signal_id_is_refused_before_anything_is_written(pipeline: str) -> None:
    before = keys_of(pipeline)
    with pytest.raises(InvalidIdError):
        cancel_coordination(long_id(125, "c"), "stop")
    assert keys_of(pipeline) == before
