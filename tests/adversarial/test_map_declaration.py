"""``map:`` declarations: every bad one is a WorkflowError naming the field, refused before anything is stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from config.settings import reload_settings
from coordination import Workflow, WorkflowError
from coordination.errors import InvalidIdError
from coordination.store.connection import reset_clients
from tests.conftest import keys_of

pytestmark = pytest.mark.redis


@pytest.fixture
def pipeline(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A pipeline namespace of its own; yields it."""
    namespace = f"adv-map-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", namespace)
    reload_settings()
    reset_clients()
    yield namespace
    monkeypatch.undo()
    reload_settings()
    reset_clients()


def declaration(fan_out: Any, **agents: Any) -> dict[str, Any]:
    """``plan`` → ``each`` (declared with ``fan_out`` as its ``map``)."""
    return {
        "name": "wf",
        "agents": {"plan": {}, "each": {"depends_on": ["plan"], "map": fan_out}, **agents},
    }


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, declaration, field named, words in the problem)
    ("upstream unknown", declaration({"over": "nobody.files", "max_items": 3}), "agents.each.map.over", "names no"),
    ("no path", declaration({"over": "plan", "max_items": 3}), "agents.each.map.over", "<upstream agent>.<path"),
    ("empty key", declaration({"over": "plan..files", "max_items": 3}), "agents.each.map.over", "<upstream agent>"),
    ("trailing dot", declaration({"over": "plan.files.", "max_items": 3}), "agents.each.map.over", "<upstream agent>"),
    ("not a string", declaration({"over": ["plan", "files"], "max_items": 3}), "agents.each.map.over", "string"),
    ("control character", declaration({"over": "plan.fi\nles", "max_items": 3}), "agents.each.map.over", "upstream"),
    (
        "upstream not awaited",
        declaration({"over": "other.files", "max_items": 3}, other={}),
        "agents.each.map.over",
        "depends_on",
    ),
    (
        "upstream awaited only transitively",
        {
            "name": "wf",
            "agents": {
                "plan": {},
                "mid": {"depends_on": ["plan"]},
                "each": {"depends_on": ["mid"], "map": {"over": "plan.files", "max_items": 3}},
            },
        },
        "agents.each.map.over",
        "depends_on",
    ),
    (
        "its own result",
        {"name": "wf", "agents": {"each": {"map": {"over": "each.files", "max_items": 3}}}},
        "agents.each.map.over",
        "own result",
    ),
    ("max_items missing", declaration({"over": "plan.files"}), "agents.each.map.max_items", "required"),
    ("max_items zero", declaration({"over": "plan.files", "max_items": 0}), "agents.each.map.max_items", "1"),
    ("max_items negative", declaration({"over": "plan.files", "max_items": -1}), "agents.each.map.max_items", ""),
    ("max_items huge", declaration({"over": "plan.files", "max_items": 10**9}), "agents.each.map.max_items", ""),
    ("max_items float", declaration({"over": "plan.files", "max_items": 2.5}), "agents.each.map.max_items", ""),
    ("max_items text", declaration({"over": "plan.files", "max_items": "ten"}), "agents.each.map.max_items", ""),
    ("unknown field", declaration({"over": "plan.files", "max_items": 3, "each": 1}), "agents.each.map.each", ""),
    ("map not an object", declaration("plan.files"), "agents.each.map", ""),
    (
        "an agent id that an item id would take",
        declaration({"over": "plan.files", "max_items": 3}, **{"each.1": {}}),
        "agents.each.1",
        "clashes",
    ),
]


@pytest.mark.parametrize(("case", "declared", "field", "words"), BAD, ids=[case for case, *_ in BAD])
def test_a_bad_map_declaration_is_refused_naming_the_field(
    pipeline: str, case: str, declared: dict[str, Any], field: str, words: str
) -> None:
    before = keys_of(pipeline)
    with pytest.raises(WorkflowError) as raised:
        Workflow(**declared).submit(check_agents=False)
    assert raised.value.field == field, raised.value
    assert words in raised.value.problem
    assert keys_of(pipeline) == before == []


def test_a_long_coordination_id_whose_item_signal_ids_would_not_fit_is_refused_before_anything_is_written(
    pipeline: str,
) -> None:
    workflow = Workflow(**declaration({"over": "plan.files", "max_items": 10_000}))
    with pytest.raises(InvalidIdError) as raised:
        workflow.submit(coordination_id="c" * 100, check_agents=False)
    assert raised.value.field.startswith("agents.each.map.max_items")
    assert keys_of(pipeline) == []
