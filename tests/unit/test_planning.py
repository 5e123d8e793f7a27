import pytest

from coordination.errors import WorkflowError
from coordination.planning import topological_order


def test_agents_come_after_the_agents_they_depend_on():
    order = topological_order(
        {
            "packager": ["validator-gen", "test-gen"],
            "validator-gen": ["model-gen"],
            "test-gen": ["model-gen"],
            "model-gen": [],
        }
    )
    assert order.index("model-gen") < order.index("validator-gen") < order.index("packager")
    assert order.index("test-gen") < order.index("packager")
    assert sorted(order) == ["model-gen", "packager", "test-gen", "validator-gen"]


def test_independent_agents_keep_their_declaration_order():
    assert topological_order({"b": [], "a": [], "c": []}) == ["b", "a", "c"]


def test_a_cycle_is_refused_and_shown():
    with pytest.raises(WorkflowError, match="a -> c -> b -> a"):
        topological_order({"a": ["c"], "b": ["a"], "c": ["b"]})


def test_an_unknown_agent_is_refused_naming_the_dependent_agent():
    with pytest.raises(WorkflowError) as error:
        topological_order({"a": ["ghost"]})
    assert error.value.field == "dependencies['a']"
    assert "ghost" in error.value.problem


def test_an_agent_cannot_depend_on_itself():
    with pytest.raises(WorkflowError, match="itself"):
        topological_order({"a": ["a"]})
