"""Fan-out over a result (``map:``) across real worker processes: every item runs once, the join waits for all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coordination import Workflow
from tests.e2e.agents import pid_of, runs_of
from tests.e2e.conftest import Services, running_services, wait_finished


@pytest.fixture(scope="module")
def two_workers(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Two worker processes (2 children each) and beat on a queue and namespace of their own."""
    tmp: Path = tmp_path_factory.mktemp("map")
    with running_services(tmp) as services:
        services.start_worker(f"e2e-{services.suffix}-second")
        services.wait_for_workers()
        yield services


def test_ten_items_run_once_each_across_two_workers_and_the_result_keeps_item_order(two_workers: Services) -> None:
    workflow = Workflow(
        name="map-e2e",
        agents={
            "plan": {"task": "e2e-list"},
            "each": {"task": "e2e-item", "depends_on": ["plan"], "map": {"over": "plan.work.items", "max_items": 20}},
            "after": {"task": "e2e-step", "depends_on": ["each"]},
        },
    )
    items = [f"file-{n}" for n in range(10)]
    cid = workflow.submit(input={"items": items, "item_sleep": 0.2})

    status = wait_finished(cid, timeout=60)

    assert status.status == "completed", status
    each = status.agent("each")
    assert each.items is not None and each.items.summary() == "×10 (10 done)"
    assert isinstance(each.result, list)
    assert [entry["item"] for entry in each.result] == items
    assert [entry["index"] for entry in each.result] == list(range(10))
    assert [runs_of(cid, f"each.{n}") for n in range(10)] == [1] * 10  # each item ran exactly once
    assert runs_of(cid, "each") == 0  # the map agent itself runs no function
    assert len({pid_of(cid, f"each.{n}") for n in range(10)}) > 1  # items ran in parallel, in several processes
    after = status.agent("after")
    assert after.status == "completed" and after.started_at is not None and each.finished_at is not None
    assert after.started_at >= each.finished_at


def test_too_many_items_fail_the_map_agent_with_a_clear_error_and_nothing_runs(two_workers: Services) -> None:
    workflow = Workflow(
        name="map-e2e",
        agents={
            "plan": {"task": "e2e-list"},
            "each": {"task": "e2e-item", "depends_on": ["plan"], "map": {"over": "plan.work.items", "max_items": 3}},
        },
    )
    cid = workflow.submit(input={"items": [1, 2, 3, 4, 5]})

    status = wait_finished(cid, timeout=60)

    assert status.status == "failed"
    assert "5 items, max_items is 3" in (status.agent("each").error or "")
    assert [runs_of(cid, f"each.{n}") for n in range(5)] == [0] * 5
