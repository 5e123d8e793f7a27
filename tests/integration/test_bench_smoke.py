"""`python -m bench core --quick` runs and reports every figure with a number (not whether targets pass)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_FIGURES = {
    "routing.route.no_metrics.us",
    "routing.route.with_metrics.us",
    "context.get_agent_context.agents_10.p50",
    "context.get_agent_context.agents_1000.p50",
    "context.get_agent_context.agents_1000_vs_10",
    "context.distribute_100.per_agent.p50",
    "signal.emit_to_subscriber.history_0.p50",
    "signal.emit_to_subscriber.history_10k.p50",
    "signal.emit_to_subscriber.history_10k_vs_0",
    "signal.emit_many_100.p50",
    "dependency.resolution.interval_100.p50",
    "dependency.resolution.interval_2000.p50",
    "dependency.resolution.interval_2000_vs_100",
    "memory.stream_entries",
    "memory.coordination_keys_mb",
    "memory.redis_used_memory_delta_mb",
    "memory.emitter_rss_growth_mb",
}


@pytest.mark.slow
def test_a_quick_core_bench_reports_every_figure_with_a_number_and_leaves_no_keys(redis_client, tmp_path):
    output = tmp_path / "bench.json"

    completed = subprocess.run(
        [sys.executable, "-m", "bench", "core", "--quick", "--json", str(output)],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )

    # Exit code 1 only means a target was missed; anything else is a crash.
    assert completed.returncode in (0, 1), completed.stderr[-3000:]
    document = json.loads(output.read_text(encoding="utf-8"))
    figures = {figure["key"]: figure for figure in document["figures"]}
    assert set(figures) == EXPECTED_FIGURES
    for key, figure in figures.items():
        assert isinstance(figure["value"], int | float) and math.isfinite(figure["value"]), key
        if figure["target_kind"] != "info":
            assert isinstance(figure["passed"], bool), key
    assert document["machine"]["nproc"] >= 1
    assert document["machine"]["redis_version"]
    assert document["passed"] == (completed.returncode == 0)
    root = re.search(r"root prefix (bench-[0-9a-f]{8})", completed.stdout)
    assert root is not None, completed.stdout
    assert list(redis_client.scan_iter(match=f"{root.group(1)}:*", count=1000)) == []
