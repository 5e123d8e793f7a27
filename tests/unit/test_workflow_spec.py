"""Workflow declarations are validated as a whole before anything is written."""

from __future__ import annotations

import json

import pytest

from coordination import Workflow, WorkflowError
from coordination.models.workflow import WorkflowSpec

AGENTS = {"model-gen": {}, "test-gen": {"depends_on": ["model-gen"]}}


def test_a_workflow_from_yaml_json_and_python_is_the_same_declaration(tmp_path):
    declaration = {"name": "codegen", "agents": AGENTS}
    (tmp_path / "wf.json").write_text(json.dumps(declaration))
    (tmp_path / "wf.yaml").write_text(
        "name: codegen\nagents:\n  model-gen: {}\n  test-gen: {depends_on: [model-gen]}\n"
    )
    specs = [
        Workflow.from_file(tmp_path / "wf.json").spec,
        Workflow.from_file(tmp_path / "wf.yaml").spec,
        Workflow(**declaration).spec,
    ]
    assert specs[0] == specs[1] == specs[2]
    assert specs[0].order() == ["model-gen", "test-gen"]


def test_depends_on_becomes_agent_completion_dependencies():
    spec = Workflow(name="wf", agents=AGENTS).spec
    [dependency] = spec.all_dependencies()
    assert (dependency.agent, dependency.type.value, dependency.target) == ("test-gen", "agent_completion", "model-gen")
    assert dependency.id == "test-gen.after.model-gen"


@pytest.mark.parametrize(
    ("declaration", "field", "problem"),
    [
        ({"agents": {"a": {"depends_on": ["ghost"]}}}, "agents['a']", "unknown agent 'ghost'"),
        (
            {"agents": {"a": {"depends_on": ["b"]}, "b": {"depends_on": ["a"]}}},
            "agents",
            "dependency cycle: a -> b -> a",
        ),
        ({"agents": {"bad id": {}}}, "agents", "must match"),
        ({"agents": {"a": {"colour": "red"}}}, "agents.a.colour", "Extra inputs are not permitted"),
        ({"agents": {}}, "agents", "at least 1"),
        (
            {
                "agents": {"a": {}},
                "dependencies": [{"id": "d", "agent": "ghost", "type": "resource_availability", "target": "db"}],
            },
            "dependencies[0].agent",
            "unknown agent",
        ),
        (
            {
                "agents": {"a": {}},
                "dependencies": [{"id": "d", "agent": "a", "type": "agent_completion", "target": "ghost"}],
            },
            "dependencies[0].target",
            "unknown agent",
        ),
        (
            {
                "agents": {"a": {}},
                "dependencies": [{"id": "d", "agent": "a", "type": "quality_gate", "target": "g", "timeout": 0}],
            },
            "dependencies[0].timeout",
            "greater than 0",
        ),
        (
            {"agents": {"a": {}}, "dependencies": [{"id": "d", "agent": "a", "type": "psychic", "target": "g"}]},
            "dependencies[0].type",
            "Input should be",
        ),
        (
            {
                "agents": {"a": {}},
                "dependencies": [{"id": "d", "agent": "a", "type": "quality_gate", "target": "g", "threshold": 1.5}],
            },
            "dependencies[0].threshold",
            "less than or equal",
        ),
        (
            {
                "agents": {"a": {}},
                "routing": {
                    "rules": [
                        {
                            "rule_id": "r",
                            "name": "n",
                            "condition_key": "q",
                            "condition_operator": "~=",
                            "condition_value": 1,
                            "decision": "retry",
                        }
                    ]
                },
            },
            "routing.rules[0].condition_operator",
            "unknown operator",
        ),
        (
            {
                "agents": {"a": {}},
                "routing": {
                    "rules": [
                        {
                            "rule_id": "r",
                            "name": "n",
                            "condition_key": "q",
                            "condition_operator": "in",
                            "condition_value": "abc",
                            "decision": "retry",
                        }
                    ]
                },
            },
            "routing.rules[0].condition_value",
            "needs a collection",
        ),
        (
            {
                "agents": {"a": {}},
                "routing": {
                    "rules": [
                        {
                            "rule_id": "r",
                            "name": "n",
                            "condition_key": "q",
                            "condition_operator": "==",
                            "condition_value": 1,
                            "decision": "branch",
                        }
                    ]
                },
            },
            "routing.rules[0].next_task",
            "needs a next_task",
        ),
        (
            {
                "agents": {"a": {}},
                "routing": {
                    "rules": [
                        {
                            "rule_id": "r",
                            "name": "n",
                            "condition_key": "q",
                            "condition_operator": "==",
                            "condition_value": 1,
                            "decision": "branch",
                            "next_task": "ghost",
                        }
                    ]
                },
            },
            "routing.rules[0].next_task",
            "unknown agent",
        ),
    ],
)
def test_an_invalid_declaration_is_refused_naming_the_field(declaration, field, problem):
    with pytest.raises(WorkflowError) as error:
        Workflow(name="wf", **declaration)
    assert error.value.field == field
    assert problem in error.value.problem


def test_a_workflow_name_must_leave_room_for_the_coordination_suffix():
    with pytest.raises(WorkflowError) as error:
        Workflow(name="x" * 65, agents={"a": {}})
    assert error.value.field == "name"


def test_an_unknown_file_type_is_refused(tmp_path):
    (tmp_path / "wf.toml").write_text("")
    with pytest.raises(WorkflowError, match=r"expected a \.yaml"):
        Workflow.from_file(tmp_path / "wf.toml")


def test_an_agent_task_that_is_not_registered_is_refused_before_submitting():
    workflow = Workflow(name="wf", modules=["examples.codegen"], agents={"a": {"task": "no-such-agent"}})
    with pytest.raises(WorkflowError) as error:
        workflow.check_agents_registered()
    assert error.value.field == "agents.a.task"


def test_resources_and_gates_are_per_run_by_default_and_approvals_keep_their_declaration_when_stored() -> None:
    spec = WorkflowSpec.model_validate(
        {
            "name": "release",
            "agents": {"build": {}, "publish": {"depends_on": ["build"]}, "fix": {"start": "on_branch"}},
            "dependencies": [
                {"id": "q", "agent": "publish", "type": "quality_gate", "target": "build-quality"},
                {"id": "slot", "agent": "publish", "type": "resource_availability", "target": "s", "scope": "global"},
                {
                    "id": "ok",
                    "agent": "publish",
                    "type": "approval",
                    "target": "release-approval",
                    "approvers": "release editors",
                    "on_timeout": "branch:fix",
                    "on_reject": "skip",
                },
            ],
        }
    )
    assert [d.scope for d in spec.dependencies] == ["run", "global", "run"]
    approval = spec.dependencies[2]
    assert (approval.default_for("timeout"), approval.default_for("failed")) == ("branch:fix", "skip")
    assert WorkflowSpec.model_validate_json(spec.model_dump_json()) == spec
