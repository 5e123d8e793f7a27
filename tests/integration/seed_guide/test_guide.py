"""Every Python example of the seed guide is tested in the module of its section, and only the seed's imports move."""

from __future__ import annotations

from tests.integration.seed_guide import (
    test_common_issues,
    test_context_distributor,
    test_dependency_resolver,
    test_monitoring,
    test_optimization_strategies,
    test_routing_orchestrator,
    test_signal_coordinator,
)
from tests.integration.seed_guide.guide import port_imports, python_blocks

SECTIONS = [
    test_signal_coordinator,
    test_routing_orchestrator,
    test_context_distributor,
    test_dependency_resolver,
    test_monitoring,
    test_optimization_strategies,
    test_common_issues,
]


def test_every_python_example_of_the_guide_but_the_benchmark_belongs_to_a_tested_section(guide: str) -> None:
    blocks = python_blocks(guide)
    benchmark = [block for block in blocks if "async def benchmark_coordination" in block]
    assert len(benchmark) == 1
    assert python_blocks(guide, "Performance Benchmarking Script") == benchmark
    assert [block for block in blocks if block not in benchmark] == [
        example for module in SECTIONS for example in module.EXAMPLES
    ]


def test_no_example_needs_any_line_changed_to_run_here() -> None:
    # None of these sections imports from omninode_bridge; `from functools import lru_cache` stays as it is.
    assert all(port_imports(example) == example for module in SECTIONS for example in module.EXAMPLES)
    assert port_imports("from omninode_bridge.agents.metrics import MetricsCollector\nx = 1\n") == (
        "from coordination.metrics import MetricsCollector\nx = 1\n"
    )
