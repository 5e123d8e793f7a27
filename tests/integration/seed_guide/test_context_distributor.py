"""The seed guide's section "3. Context Distributor Tuning": its examples, verbatim, do what they say."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from coordination import (
    AgentContext,
)
from tests.integration.seed_guide.guide import (
    assignments,
    halves,
    printed,
    python_blocks,
    run_example,
    seed_scope,
)

SECTION = "3. Context Distributor Tuning"

# -- the section's examples, verbatim (a comment gives each one's place in the section) --------------------

# 3. Context Distributor Tuning › Configuration Parameters
CONTEXT_CONFIGURATION = """\
context_distributor = ContextDistributor(
    state=state,
    metrics_collector=metrics,
    default_resource_allocation=ResourceAllocation(
        max_execution_time_ms=300000,
        max_retry_attempts=3,
        quality_threshold=0.8
    )
)
"""


# 3. Context Distributor Tuning › Tuning Recommendations › For Large Agent Count (>50 agents)
CONTEXT_BATCHES = """\
# Distribute in batches
async def distribute_in_batches(agent_assignments, batch_size=10):
    agent_ids = list(agent_assignments.keys())
    results = {}

    for i in range(0, len(agent_ids), batch_size):
        batch = {
            agent_id: agent_assignments[agent_id]
            for agent_id in agent_ids[i:i+batch_size]
        }

        batch_results = await context_distributor.distribute_agent_context(
            coordination_state=coordination_state,
            agent_assignments=batch
        )

        results.update(batch_results)

    return results
"""


# 3. Context Distributor Tuning › Tuning Recommendations › For Large Shared Intelligence
CONTEXT_SHARED_INTELLIGENCE = """\
# ❌ BAD: Include everything in shared intelligence
shared_intel = SharedIntelligence(
    type_registry=all_types,  # 1000+ types
    pattern_library=all_patterns,  # 500+ patterns
    validation_rules=all_rules,  # 300+ rules
)

# ✅ GOOD: Include only necessary intelligence
shared_intel = SharedIntelligence(
    type_registry=essential_types,  # 10-20 types
    pattern_library={"validation": ["email_validator"]},  # Only needed patterns
    validation_rules=essential_rules  # Only needed rules
)
"""


# 3. Context Distributor Tuning › Performance Tips › Tip 1: Minimize context size
CONTEXT_TIP_SIZE = """\
# Check context size
context = distributor.get_agent_context(coordination_id, agent_id)
context_size = len(context.model_dump_json())
print(f"Context size: {context_size / 1024:.2f} KB")

# If > 100KB, reduce shared intelligence
if context_size > 100 * 1024:
    # Reduce type registry, pattern library, etc.
    pass
"""


# 3. Context Distributor Tuning › Performance Tips › Tip 2: Reuse contexts for similar agents
CONTEXT_TIP_TEMPLATE = """\
# Create template context
template_context = await distributor.distribute_agent_context(
    coordination_state=coordination_state,
    agent_assignments={"template": template_assignment}
)

# Reuse for similar agents (modify only necessary fields)
for agent_id in similar_agent_ids:
    agent_context = deepcopy(template_context["template"])
    agent_context.coordination_metadata.agent_id = agent_id
    # Store context manually
"""


EXAMPLES = [
    CONTEXT_CONFIGURATION,
    CONTEXT_BATCHES,
    CONTEXT_SHARED_INTELLIGENCE,
    CONTEXT_TIP_SIZE,
    CONTEXT_TIP_TEMPLATE,
]


def test_the_examples_are_the_sections_own_verbatim(guide: str) -> None:
    assert python_blocks(guide, SECTION) == EXAMPLES


# -- what each example does --------------------------------------------------------------------------------


COORDINATION_STATE = {"session_id": "session-1"}


async def test_context_configuration_gives_every_agent_the_default_allocation(namespace: str) -> None:
    scope = await run_example(CONTEXT_CONFIGURATION, seed_scope(namespace))
    distributor, cid = scope["context_distributor"], scope["coordination_id"]

    contexts = await distributor.distribute_agent_context({"coordination_id": cid, "session_id": cid}, assignments(2))

    for context in contexts.values():
        allocation = context.resource_allocation
        assert (allocation.max_execution_time_ms, allocation.max_retry_attempts) == (300000, 3)
        assert allocation.quality_threshold == 0.8
    assert distributor.get_agent_context(cid, "agent-01") == contexts["agent-01"]


async def test_distributing_in_batches_returns_every_agents_context(namespace: str) -> None:
    scope = seed_scope(namespace)
    scope["coordination_state"] = {**COORDINATION_STATE, "coordination_id": scope["coordination_id"]}
    await run_example(CONTEXT_BATCHES, scope)

    results = await scope["distribute_in_batches"](assignments(25), batch_size=10)

    assert list(results) == list(assignments(25))
    assert all(isinstance(context, AgentContext) for context in results.values())


async def test_distributing_in_batches_leaves_every_agents_context_retrievable(namespace: str) -> None:
    scope = seed_scope(namespace)
    cid = scope["coordination_id"]
    scope["coordination_state"] = {**COORDINATION_STATE, "coordination_id": cid}
    await run_example(CONTEXT_BATCHES, scope)

    await scope["distribute_in_batches"](assignments(25), batch_size=10)

    assert scope["distributor"].list_coordination_contexts(cid) == list(assignments(25))


async def test_essential_shared_intelligence_makes_a_much_smaller_context(namespace: str) -> None:
    scope = seed_scope(
        namespace,
        all_types={f"Type{n}": f"models.Type{n}" for n in range(1000)},
        all_patterns={f"pattern{n}": [f"validator_{n}"] for n in range(500)},
        all_rules={f"rule{n}": {"min_length": n} for n in range(300)},
        essential_types={f"Type{n}": f"models.Type{n}" for n in range(15)},
        essential_rules={"email": {"format": "email"}},
    )
    bad, _good = halves(CONTEXT_SHARED_INTELLIGENCE)
    distributor, cid = scope["distributor"], scope["coordination_id"]

    sizes = []
    for fragment in (bad, CONTEXT_SHARED_INTELLIGENCE):
        await run_example(fragment, scope)
        contexts = await distributor.distribute_agent_context(
            {"coordination_id": cid, "session_id": cid}, assignments(1), shared_intelligence=scope["shared_intel"]
        )
        sizes.append(len(contexts["agent-00"].model_dump_json()))

    assert scope["shared_intel"].pattern_library == {"validation": ["email_validator"]}
    assert sizes[1] * 20 < sizes[0]


async def test_the_context_size_check_reports_kilobytes(namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    scope = seed_scope(namespace, agent_id="agent-00")
    await scope["distributor"].distribute_agent_context(
        {"coordination_id": scope["coordination_id"], "session_id": "s"}, assignments(1)
    )

    await run_example(CONTEXT_TIP_SIZE, scope)

    assert scope["context_size"] == len(scope["context"].model_dump_json()) > 0
    assert printed(capsys) == [f"Context size: {scope['context_size'] / 1024:.2f} KB"]


async def test_reusing_a_template_context_changes_only_the_agent_id(namespace: str) -> None:
    # The seed froze CoordinationMetadata, so its own recipe failed at the assignment (SEED_API §2 item 26).
    # Here agent_id and agent_role may be reassigned (validated); the coordination identity stays frozen.
    scope = seed_scope(
        namespace,
        template_assignment={"objective": "Generate a model", "tasks": ["generate"]},
        similar_agent_ids=["model-gen-2", "model-gen-3"],
    )
    cid = scope["coordination_id"]
    scope["coordination_state"] = {**COORDINATION_STATE, "coordination_id": cid}

    await run_example(CONTEXT_TIP_TEMPLATE, scope)

    template, copy = scope["template_context"]["template"], scope["agent_context"]
    assert copy.coordination_metadata.agent_id == "model-gen-3"
    assert template.coordination_metadata.agent_id == "template"  # deepcopy: the template is untouched
    assert copy.agent_assignment == template.agent_assignment
    assert copy.coordination_metadata.coordination_id == cid
    # "Store context manually":
    scope["distributor"].store_agent_context(copy)
    assert scope["distributor"].list_coordination_contexts(cid) == ["template", "model-gen-3"]
    with pytest.raises(ValidationError, match="agent_id"):
        copy.coordination_metadata.agent_id = "not a valid id!"
    with pytest.raises(ValidationError, match="frozen"):
        copy.coordination_metadata.coordination_id = "elsewhere"
