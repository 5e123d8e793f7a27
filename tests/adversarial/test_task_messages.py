"""Malformed agent task messages (wrong arity, non-integer attempts, unknown keywords, ids that cannot be keys) are
refused by a real worker in one log line: the worker goes on, nothing is written, nothing is truncated."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from config.celery_app import app
from coordination import Workflow
from coordination.errors import InvalidInputError
from coordination.pipeline.messages import parse_agent_message
from tests.conftest import keys_of
from tests.e2e.conftest import pipeline_services, wait_finished  # noqa: F401  (a fixture, used by name)

pytestmark = pytest.mark.redis

CID = "malformed-0123"

BAD_MESSAGES: list[tuple[str, tuple[Any, ...], dict[str, Any], str]] = [
    ("no arguments", (), {}, "coordination_id"),
    ("two positional", (CID, "a"), {}, "attempt"),
    ("four positional", (CID, "a", 1, 2), {}, "args"),
    ("unknown keyword", (), {"coordination_id": CID, "agent_id": "a", "attempt": 1, "priority": 9}, "priority"),
    ("both ways", (CID,), {"coordination_id": CID, "agent_id": "a", "attempt": 1}, "coordination_id"),
    ("fractional attempt", (), {"coordination_id": CID, "agent_id": "a", "attempt": 1.9}, "attempt"),
    ("string attempt", (), {"coordination_id": CID, "agent_id": "a", "attempt": "2"}, "attempt"),
    ("boolean attempt", (), {"coordination_id": CID, "agent_id": "a", "attempt": True}, "attempt"),
    ("zero attempt", (), {"coordination_id": CID, "agent_id": "a", "attempt": 0}, "attempt"),
    ("huge attempt", (), {"coordination_id": CID, "agent_id": "a", "attempt": 10**30}, "attempt"),
    ("id with a space", (), {"coordination_id": "no spaces", "agent_id": "a", "attempt": 1}, "coordination_id"),
    ("id with a brace", (), {"coordination_id": CID, "agent_id": "a}{b", "attempt": 1}, "agent_id"),
    ("id not a string", (), {"coordination_id": 12, "agent_id": "a", "attempt": 1}, "coordination_id"),
    ("null agent", (), {"coordination_id": CID, "agent_id": None, "attempt": 1}, "agent_id"),
]


@pytest.mark.parametrize(("case", "args", "kwargs", "field"), BAD_MESSAGES, ids=[case[0] for case in BAD_MESSAGES])
def test_a_malformed_message_is_refused_naming_what_is_wrong(
    case: str, args: tuple[Any, ...], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_agent_message(args, kwargs)
    assert refused.value.field == field


def test_a_worker_refuses_malformed_messages_in_one_line_each_and_goes_on(pipeline_services):  # noqa: F811
    queue_keys_before = keys_of(CID)
    task_ids = []
    for _case, args, kwargs, _field in BAD_MESSAGES:
        task_id = f"bad-{uuid.uuid4().hex[:8]}"
        task_ids.append(task_id)
        app.send_task("agent.e2e-step", args=list(args), kwargs=kwargs, task_id=task_id, ignore_result=True)
    # The worker is still there and still runs coordinations.
    coordination_id = Workflow(name="after-bad", agents={"only": {"task": "e2e-step"}}).submit()
    assert wait_finished(coordination_id).status == "completed"
    time.sleep(0.5)

    log = (pipeline_services.tmp / f"{pipeline_services.nodes[0]}.log").read_text()
    refused = [line for line in log.splitlines() if "refused a malformed agent.e2e-step message" in line]
    assert len(refused) == len(BAD_MESSAGES), log[-4000:]
    for task_id in task_ids:
        assert sum(task_id in line for line in refused) == 1
    assert "Traceback" not in log
    assert keys_of(CID) == queue_keys_before == []
