"""Bad limit declarations, templates and token counts: refused with the field named, nothing written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from config.settings import reload_settings
from coordination import Workflow
from coordination.errors import InvalidInputError, WorkflowError
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.store.connection import reset_clients, sync_client
from tests.conftest import keys_of

pytestmark = pytest.mark.redis


@pytest.fixture
def pipeline(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A pipeline namespace of its own (messages captured, not published); yields it."""
    namespace = f"adv-lim-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", namespace)
    reload_settings()
    reset_clients()
    monkeypatch.setattr(Dispatcher, "publish", lambda self, task, queue, item, task_id=None: None)
    yield namespace
    monkeypatch.undo()
    reload_settings()
    reset_clients()


DECLARATIONS: list[tuple[str, Any, str]] = [
    # (case, the agent's limits, field named)
    ("rate unit", [{"key": "k", "rate": "5/d"}], "agents.a.limits[0].rate"),
    ("rate zero", [{"key": "k", "rate": "0/s"}], "agents.a.limits[0].rate"),
    ("rate negative", [{"key": "k", "rate": "-1/s"}], "agents.a.limits[0].rate"),
    ("rate fraction", [{"key": "k", "rate": "1.5/s"}], "agents.a.limits[0].rate"),
    ("rate number", [{"key": "k", "rate": 60}], "agents.a.limits[0].rate"),
    ("rate too high", [{"key": "k", "rate": "100001/s"}], "agents.a.limits[0].rate"),
    ("tokens unit", [{"key": "k", "tokens": "9000/week"}], "agents.a.limits[0].tokens"),
    ("concurrency zero", [{"key": "k", "concurrency": 0}], "agents.a.limits[0].concurrency"),
    ("concurrency huge", [{"key": "k", "concurrency": 10**9}], "agents.a.limits[0].concurrency"),
    ("concurrency text", [{"key": "k", "concurrency": "three"}], "agents.a.limits[0].concurrency"),
    ("nothing limited", [{"key": "k"}], "agents.a.limits[0].concurrency"),
    ("unknown field", [{"key": "k", "concurrency": 1, "burst": 3}], "agents.a.limits[0].burst"),
    ("no key", [{"concurrency": 1}], "agents.a.limits[0].key"),
    ("empty key", [{"key": "", "concurrency": 1}], "agents.a.limits[0].key"),
    ("key with space", [{"key": "a b", "concurrency": 1}], "agents.a.limits[0].key"),
    ("key with brace tag", [{"key": "x}{y", "concurrency": 1}], "agents.a.limits[0].key"),
    ("key with slash", [{"key": "a/b", "concurrency": 1}], "agents.a.limits[0].key"),
    ("key too long", [{"key": "k" * 129, "concurrency": 1}], "agents.a.limits[0].key"),
    ("attribute access", [{"key": "t:{input.tenant.__class__}", "concurrency": 1}], "agents.a.limits[0].key"),
    ("indexing", [{"key": "t:{input[0]}", "concurrency": 1}], "agents.a.limits[0].key"),
    ("not the input", [{"key": "t:{settings}", "concurrency": 1}], "agents.a.limits[0].key"),
    ("format spec", [{"key": "t:{input.tenant:>200}", "concurrency": 1}], "agents.a.limits[0].key"),
    ("conversion", [{"key": "t:{input.tenant!r}", "concurrency": 1}], "agents.a.limits[0].key"),
    ("lone brace", [{"key": "t:{input.tenant", "concurrency": 1}], "agents.a.limits[0].key"),
    ("too many", [{"key": f"k{n}", "concurrency": 1} for n in range(17)], "agents.a.limits"),
    ("not a list", {"key": "k", "concurrency": 1}, "agents.a.limits"),
]


@pytest.mark.parametrize(("case", "limits", "field"), DECLARATIONS, ids=[case for case, _, _ in DECLARATIONS])
def test_a_bad_limit_declaration_is_refused_naming_its_field(case: str, limits: Any, field: str) -> None:
    with pytest.raises(WorkflowError) as refused:
        Workflow(name="adv", agents={"a": {"limits": limits}})
    assert refused.value.field == field, refused.value


def test_a_bad_workflow_level_limit_names_the_top_level_field() -> None:
    with pytest.raises(WorkflowError) as refused:
        Workflow(name="adv", agents={"a": {}}, limits=[{"key": "k", "rate": "fast"}])
    assert refused.value.field == "limits[0].rate"


SUBMISSIONS: list[tuple[str, dict[str, Any], Any, str]] = [
    # (case, workflow keyword arguments, input, field named)
    (
        "missing input field",
        {"agents": {"a": {"limits": [{"key": "tenant:{input.tenant}", "concurrency": 1}]}}},
        {"user": "x"},
        "agents.a.limits[0].key",
    ),
    (
        "no input at all",
        {"agents": {"a": {"limits": [{"key": "tenant:{input.tenant}", "concurrency": 1}]}}},
        None,
        "agents.a.limits[0].key",
    ),
    (
        "derived key with a space",
        {"agents": {"a": {"limits": [{"key": "tenant:{input.tenant}", "concurrency": 1}]}}},
        {"tenant": "acme corp"},
        "agents.a.limits[0].key",
    ),
    (
        "derived key too long",
        {"agents": {"a": {"limits": [{"key": "tenant:{input.tenant}", "concurrency": 1}]}}},
        {"tenant": "x" * 130},
        "agents.a.limits[0].key",
    ),
    (
        "input value not text",
        {"agents": {"a": {"limits": [{"key": "tenant:{input.tenant}", "concurrency": 1}]}}},
        {"tenant": {"nested": "value"}},
        "agents.a.limits[0].key",
    ),
    (
        "input value a boolean",
        {"agents": {"a": {"limits": [{"key": "tenant:{input.tenant}", "concurrency": 1}]}}},
        {"tenant": True},
        "agents.a.limits[0].key",
    ),
    (
        "workflow-level template",
        {"agents": {"a": {}}, "limits": [{"key": "t:{input.team}", "rate": "5/s"}]},
        {"tenant": "acme"},
        "limits[0].key",
    ),
    (
        "second agent's template",
        {"agents": {"a": {}, "b": {"limits": [{"key": "ok", "rate": "1/s"}, {"key": "{input.x}", "rate": "1/s"}]}}},
        {},
        "agents.b.limits[1].key",
    ),
]


@pytest.mark.parametrize(
    ("case", "declaration", "input_data", "field"), SUBMISSIONS, ids=[case for case, *_ in SUBMISSIONS]
)
def test_a_submission_whose_limit_key_cannot_be_derived_writes_nothing(
    pipeline: str, case: str, declaration: dict[str, Any], input_data: Any, field: str
) -> None:
    workflow = Workflow(name="adv", **declaration)
    before = keys_of(pipeline)
    with pytest.raises(InvalidInputError) as refused:
        workflow.submit(input=input_data, check_agents=False)
    assert refused.value.field == field, refused.value
    assert keys_of(pipeline) == before == []
    assert sync_client().scard(components().keys.active) == 0


@pytest.mark.parametrize("tokens", [0, -5, 1.5, "100", True, None, 10**13])
def test_use_tokens_refuses_a_bad_count_and_charges_nothing(pipeline: str, tokens: Any) -> None:
    workflow = Workflow(name="adv", agents={"a": {"limits": [{"key": "llm", "tokens": "1000/m"}]}})
    cid = workflow.submit(check_agents=False)
    refusals: list[InvalidInputError] = []

    def spend(run: AgentRun) -> None:
        try:
            run.use_tokens(tokens)
        except InvalidInputError as error:
            refusals.append(error)

    execute_attempt(spend, cid, "a", 1, task_id="t-1")
    assert [error.field for error in refusals] == ["tokens"]
    info = components().keys.limit("llm", "info")
    assert sync_client().hget(info, "tokens_used") is None
    assert sync_client().hget(info, "tat") is None
