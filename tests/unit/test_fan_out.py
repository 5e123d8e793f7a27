"""Fan-out over a result (``map:``), the pure part: the declaration, item ids, and the list at a path."""

from __future__ import annotations

from typing import Any

import pytest

from coordination.errors import WorkflowError
from coordination.models.fan_out import (
    MapInputError,
    count_summary,
    item_counts,
    item_id,
    items_at,
    resolve_over,
    split_item_id,
)
from coordination.models.status import AgentStatus, CoordinationStatus, MapItems
from coordination.models.workflow import declared_spec
from coordination.views.graph import to_dot, to_mermaid, workflow_graph


def spec(**agents: Any) -> Any:
    return declared_spec({"name": "wf", "agents": agents})


def test_item_ids_are_the_agent_id_and_the_index_and_split_back_only_for_map_agents() -> None:
    assert item_id("summarise", 11) == "summarise.11"
    maps = {"summarise": object()}
    assert split_item_id("summarise.11", maps) == ("summarise", 11)
    for other in ("summarise", "summarise.x", "summarise.01", "summarise.-1", "other.1", "summarise.1.2"):
        assert split_item_id(other, maps) is None, other


def test_over_names_the_longest_agent_id_that_prefixes_it_so_agent_ids_may_hold_dots() -> None:
    agents = {"plan": {}, "plan.v2": {}}
    assert resolve_over("plan.v2.files", agents) == ("plan.v2", ["files"])
    assert resolve_over("plan.files.paths", agents) == ("plan", ["files", "paths"])
    assert resolve_over("other.files", agents) is None
    assert resolve_over("plan", agents) is None  # no path


def test_a_workflow_knows_which_agent_runs_an_item_and_its_task() -> None:
    workflow = spec(
        plan={}, each={"task": "summarise", "depends_on": ["plan"], "map": {"over": "plan.f", "max_items": 3}}
    )
    assert workflow.owner_of("each.2") == "each" and workflow.task_name("each.2") == "summarise"
    assert workflow.owner_of("plan") == "plan"
    assert workflow.owner_of("plan.0") is None  # plan is no map agent
    assert workflow.owner_of("each") == "each"


def test_the_map_upstream_must_be_awaited_directly() -> None:
    with pytest.raises(WorkflowError) as raised:
        spec(
            plan={},
            mid={"depends_on": ["plan"]},
            each={"depends_on": ["mid"], "map": {"over": "plan.f", "max_items": 3}},
        )
    assert raised.value.field == "agents.each.map.over"


@pytest.mark.parametrize(
    ("result", "path", "expected"),
    [
        ({"files": [1, 2]}, ["files"], [1, 2]),
        ({"a": {"b": []}}, ["a", "b"], []),
        ({"a": {"b": [{"x": 1}]}}, ["a", "b"], [{"x": 1}]),
    ],
)
def test_the_list_at_the_path_is_what_the_agent_runs_over(result: Any, path: list[str], expected: list[Any]) -> None:
    assert items_at(result, path, max_items=5, where="p.x") == expected


@pytest.mark.parametrize(
    ("result", "path", "problem"),
    [
        ({}, ["files"], "the upstream result has no 'files'"),
        ({"a": {}}, ["a", "b"], "no 'a.b'"),
        ({"a": 3}, ["a", "b"], "a is a number, not an object with key 'b'"),
        ({"a": [1]}, ["a", "b"], "a is a list, not an object"),
        (None, ["files"], "the result is null (missing)"),
        ({"files": "a.py"}, ["files"], "expected a list, got a string"),
        ({"files": {"a": 1}}, ["files"], "expected a list, got an object"),
        ({"files": None}, ["files"], "expected a list, got null"),
        ({"files": [1, 2, 3, 4, 5, 6]}, ["files"], "6 items, max_items is 5"),
    ],
)
def test_a_path_that_leads_to_no_list_or_to_too_many_items_is_a_clear_error(
    result: Any, path: list[str], problem: str
) -> None:
    with pytest.raises(MapInputError) as raised:
        items_at(result, path, max_items=5, where="plan.files")
    assert problem in str(raised.value)
    assert str(raised.value).startswith("map over plan.files: ")


def test_a_map_agents_items_read_as_one_line() -> None:
    counts = item_counts(["completed"] * 10 + ["queued", "running"])
    assert list(counts) == ["completed", "running", "queued"]
    assert count_summary(12, counts) == "×12 (10 done, 1 running, 1 queued)"
    assert count_summary(0, {}) == "×0"


def test_the_graph_draws_a_map_agent_as_one_node_with_its_items_counted() -> None:
    workflow = spec(plan={}, each={"depends_on": ["plan"], "map": {"over": "plan.f", "max_items": 50}})
    status = CoordinationStatus(
        coordination_id="c-1",
        workflow="wf",
        status="running",
        agents=[
            AgentStatus(agent_id="plan", status="completed", attempts=1),
            AgentStatus(
                agent_id="each",
                status="running",
                attempts=1,
                items=MapItems(count=3, statuses={"completed": 2, "queued": 1}, attempts=2),
            ),
        ],
    )
    drawn = workflow_graph(workflow, status)
    assert [node.label for node in drawn.nodes if node.kind == "agent"] == [
        "plan\ncompleted",
        "each ×3 (2 done, 1 queued)\nrunning",
    ]
    assert [node.label for node in workflow_graph(workflow).nodes] == ["plan", "each ×≤50"]
    assert "each ×3 (2 done, 1 queued)" in to_mermaid(drawn) and "each ×3 (2 done, 1 queued)" in to_dot(drawn)
