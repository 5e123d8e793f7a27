"""DependencyResolver: bad ids, specs, time-outs, scores and metadata are refused before anything is registered."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination.dependencies import DependencyResolver
from coordination.errors import InvalidIdError, InvalidInputError
from coordination.limits import MAX_INTERVAL_MS, MAX_RETRIES, MAX_TIMEOUT_SECONDS
from coordination.models.dependencies import Dependency, DependencyType
from tests.adversarial.conftest import BAD_ID_VALUES, BAD_IDS, BAD_JSON_IDS, BAD_JSON_VALUES

pytestmark = pytest.mark.redis


@pytest.fixture
def resolver(seeded) -> DependencyResolver:
    return DependencyResolver(seeded["signals"], state=seeded["state"])


def gate(**changes) -> Dependency:
    values = {"dependency_id": "d1", "dependency_type": DependencyType.QUALITY_GATE, "target": "g1", "timeout": 1}
    return Dependency(**{**values, **changes})


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_marking_a_resource_with_a_bad_id_is_refused(bad, resolver, refused):
    refused(lambda: resolver.mark_resource_available_sync(bad), InvalidIdError, "resource_id")


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_scoring_a_gate_with_a_bad_id_is_refused(bad, resolver, refused):
    refused(lambda: resolver.update_quality_gate_score_sync(bad, 0.5), InvalidIdError, "gate_id")


@pytest.mark.parametrize("score", [math.nan, math.inf, -math.inf, -0.01, 1.01, 1e308, "0.5", None, True])
def test_a_gate_score_outside_0_to_1_is_refused(score, resolver, refused):
    refused(lambda: resolver.update_quality_gate_score_sync("g1", score), InvalidInputError, "score")


@pytest.mark.parametrize("available", ["yes", 1, None])
def test_a_resource_availability_that_is_not_a_bool_is_refused(available, resolver, refused):
    refused(lambda: resolver.mark_resource_available_sync("r1", available), InvalidInputError, "available")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timeout": math.inf}, "timeout"),
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": 1e308}, "timeout"),
        ({"timeout": MAX_TIMEOUT_SECONDS + 1}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -5}, "timeout"),
        ({"timeout": "60"}, "timeout"),
        ({"max_retries": MAX_RETRIES + 1}, "max_retries"),
        ({"max_retries": -1}, "max_retries"),
        ({"dependency_type": "psychic"}, "dependency_type"),
        ({"metadata": "text"}, "metadata"),
    ],
)
def test_a_dependency_out_of_bounds_is_refused_when_it_is_declared(changes, field, refused):
    refused(lambda: gate(**changes), InvalidInputError, field)


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"check_interval_ms": math.inf}, "metadata.check_interval_ms"),
        ({"check_interval_ms": MAX_INTERVAL_MS + 1}, "metadata.check_interval_ms"),
        ({"check_interval_ms": -1}, "metadata.check_interval_ms"),
        ({"threshold": math.nan}, "metadata.threshold"),
        ({"threshold": 2}, "metadata.threshold"),
        ({"require_success": "yes"}, "metadata.require_success"),
    ],
)
async def test_bad_metadata_is_refused_before_registration(metadata, field, resolver, store):
    with store.unchanged(), pytest.raises(InvalidInputError) as raised:
        await resolver.resolve_dependency("c1", gate(metadata=metadata))
    assert raised.value.field == field


@pytest.mark.parametrize(("case", "value", "error", "words"), BAD_JSON_VALUES, ids=BAD_JSON_IDS)
async def test_metadata_outside_the_json_rule_is_refused(case, value, error, words, resolver, store):
    with store.unchanged(), pytest.raises(InvalidInputError) as raised:
        await resolver.resolve_dependency("c1", gate(metadata={"note": {"x": value}}))
    assert type(raised.value).__name__ == error
    assert raised.value.field.startswith("metadata.note.x")


@pytest.mark.parametrize("bad", BAD_ID_VALUES[:10], ids=repr)
async def test_a_bad_coordination_or_dependency_id_is_refused(bad, resolver, store):
    for call, field in [
        (lambda: resolver.resolve_dependency(bad, gate()), "coordination_id"),
        (lambda: resolver.resolve_dependency("c1", gate(dependency_id=bad)), "dependency_id"),
        (lambda: resolver.resolve_dependency("c1", gate(target=bad)), "target"),
    ]:
        with store.unchanged(), pytest.raises(InvalidIdError) as raised:
            await call()
        assert raised.value.field == field


@pytest.mark.parametrize(
    ("specs", "field"),
    [
        (
            [{"id": "ok", "type": "quality_gate", "target": "g"}, {"id": "d2", "type": "psychic", "target": "g"}],
            "dependencies[1].dependency_type",
        ),
        (
            [
                {"id": "ok", "type": "quality_gate", "target": "g"},
                {"id": "bad id", "type": "quality_gate", "target": "g"},
            ],
            "dependencies[1].dependency_id",
        ),
        ([{"type": "quality_gate", "target": "g", "timeout": math.inf}], "dependencies[0].timeout"),
        ([{"type": "quality_gate"}], "dependencies[0].target"),
        ([{"target": "g"}], "dependencies[0].type"),
        # (An unknown spec field is accepted with a SeedCompatibilityWarning, as the seed ignored it.)
        (["not a dict"], "dependencies[0]"),
    ],
)
async def test_one_bad_spec_among_an_agents_dependencies_registers_none_of_them(specs, field, resolver, store):
    with store.unchanged(), pytest.raises(InvalidInputError) as raised:
        await resolver.resolve_agent_dependencies("c1", {"agent_id": "a1", "dependencies": specs})
    assert raised.value.field == field


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(score=st.floats().filter(lambda value: not 0 <= value <= 1))
def test_any_score_outside_0_to_1_is_refused(score, resolver, store):
    with store.unchanged(), pytest.raises(InvalidInputError) as raised:
        resolver.update_quality_gate_score_sync("g1", score)
    assert raised.value.field == "score"
