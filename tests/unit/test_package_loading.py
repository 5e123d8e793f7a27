"""Loading the package pays for its own garbage: the first calls after ``import coordination`` do not."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter imports the package, then makes 2,000 routing decisions that stay in the router's history
# (what the seed guide's benchmark script does right after its imports, ten times over) and counts the full
# (generation 2) garbage collections that run meanwhile. Without the collection at the end of the package's import,
# the interpreter's first full collection over the import's objects ran here (10-20 ms quiet, 100 ms under load).
FIRST_CALLS = textwrap.dedent(
    """
    import gc
    import coordination

    full_collections = []
    gc.callbacks.append(lambda phase, info: phase == "stop" and info["generation"] == 2 and full_collections.append(1))
    router = coordination.SmartRoutingOrchestrator(max_history_size=2000)
    for n in range(2000):
        router.route({"completed_tasks": [], "task_priority": 50}, current_task=f"task-{n}")
    print(len(full_collections))
    """
)


def test_the_first_calls_after_importing_the_package_run_no_full_garbage_collection() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", FIRST_CALLS], capture_output=True, text=True, timeout=120, cwd=ROOT, check=True
    )

    assert completed.stdout.strip() == "0", completed.stderr[-2000:]
