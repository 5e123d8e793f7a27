"""The seed guide's benchmark script, run side by side against this project and the seed's in-process code.

    python -m bench.seed_side_by_side --seed-path DIR [--rounds 3] [--json FILE]

``bench/seed_benchmark.py`` is the guide's "Performance Benchmarking Script" with its imports changed to
``coordination``. Each round runs it in a fresh (cold) process against this project and, with ``--seed-path``,
the same script with the seed's imports (``omninode_bridge.agents...``) against the seed's code found under
``DIR`` (a directory holding the ``omninode_bridge`` package; the seed is not part of this repository). The two
alternate, the order flipping every round, so both see the same machine. The figures are the script's own four
averages (per signal, per routing decision, per agent, per dependency); the medians over the rounds are compared.

Without ``--seed-path`` the medians are compared with the seed's figures measured on this kind of machine (the
issue's reference: signals 1.9 ms, routing 0.03 ms, context 0.27 ms per agent, dependencies 0.37 ms per
dependency), which is a weaker comparison: say so when reporting it.

The machine's load average is printed at the start and the end: the figures are only comparable in one run.
Every run of this project writes under its own ``bench-<hex>`` root key prefix, deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("seed_benchmark.py")
ROOT = SCRIPT.parents[1]
TARGET_RATIO = 0.5

# (label in the script's output, number of operations the printed total covers, unit of the per-operation figure)
FIGURES: tuple[tuple[str, str, int], ...] = (
    ("signals", "Signal Propagation (100 signals)", 100),
    ("routing", "Routing Decisions (100 decisions)", 100),
    ("context", "Context Distribution (10 agents)", 10),
    ("dependencies", "Dependency Resolution (10 deps)", 10),
)
# The seed's figures on this kind of machine (issue 11), per operation in ms.
SEED_REFERENCE_MS = {"signals": 1.9, "routing": 0.03, "context": 0.27, "dependencies": 0.37}
_SEED_IMPORTS = (
    ("from coordination import (", "from omninode_bridge.agents.coordination import ("),
    (
        "from coordination.metrics import MetricsCollector",
        "from omninode_bridge.agents.metrics import MetricsCollector",
    ),
)


@dataclass(frozen=True)
class Run:
    """The four per-operation figures (ms) of one run of the script."""

    system: str
    figures: dict[str, float]


def parse(output: str) -> dict[str, float]:
    """Per-operation milliseconds from the script's four result lines (their printed totals / operations)."""
    figures: dict[str, float] = {}
    for name, label, operations in FIGURES:
        match = re.search(re.escape(label) + r": ([0-9.]+)ms", output)
        if match is None:
            raise RuntimeError(f"no {label!r} line in the script's output:\n{output[-2000:]}")
        figures[name] = float(match.group(1)) / operations
    return figures


def seed_script(directory: Path) -> Path:
    """The benchmark script with the seed's own import lines (the only lines that differ)."""
    text = SCRIPT.read_text(encoding="utf-8")
    for ours, theirs in _SEED_IMPORTS:
        if ours not in text:
            raise RuntimeError(f"{SCRIPT} no longer has the line {ours!r}")
        text = text.replace(ours, theirs)
    path = directory / "seed_benchmark_seed.py"
    path.write_text(text, encoding="utf-8")
    return path


def run_ours() -> Run:
    """One cold run of the script against this project, under a fresh root key prefix (deleted afterwards)."""
    root = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "COORD_NAMESPACE": root}
    try:
        done = subprocess.run(
            [sys.executable, str(SCRIPT)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
        )
    finally:
        _delete_keys(root)
    if done.returncode != 0:
        raise RuntimeError(f"bench/seed_benchmark.py failed:\n{done.stderr[-3000:]}")
    return Run("ours", parse(done.stdout))


def run_seed(script: Path, seed_path: Path) -> Run:
    """One cold run of the script against the seed's code."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(seed_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, cwd=script.parent, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"the seed's run failed:\n{done.stderr[-3000:]}")
    return Run("seed", parse(done.stdout))


def _delete_keys(root: str) -> None:
    os.environ.setdefault("COORD_REDIS_URL", "redis://127.0.0.1:6379/2")
    from bench.env import delete_keys

    previous = os.environ.get("COORD_NAMESPACE")
    os.environ["COORD_NAMESPACE"] = root
    try:
        delete_keys(root)
    finally:
        if previous is None:
            os.environ.pop("COORD_NAMESPACE", None)
        else:
            os.environ["COORD_NAMESPACE"] = previous


def medians(runs: list[Run]) -> dict[str, float]:
    """Median of each figure over the runs."""
    return {name: statistics.median(run.figures[name] for run in runs) for name, _label, _n in FIGURES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed_side_by_side", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-path", type=Path, help="directory holding the seed's omninode_bridge package")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each runs both systems once; default 3)")
    parser.add_argument("--json", dest="json_path", type=Path, help="also write every run and the medians as JSON")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    ours: list[Run] = []
    seed: list[Run] = []
    with tempfile.TemporaryDirectory() as scratch:
        script = seed_script(Path(scratch)) if args.seed_path else None
        for round_number in range(args.rounds):
            order = ["ours", "seed"] if round_number % 2 == 0 else ["seed", "ours"]
            for system in order:
                if system == "ours":
                    ours.append(run_ours())
                elif script is not None:
                    seed.append(run_seed(script, args.seed_path))
    load_after = os.getloadavg()

    ours_median = medians(ours)
    if seed:
        baseline, source = medians(seed), f"seed, same run ({len(seed)} cold runs)"
    else:
        baseline, source = dict(SEED_REFERENCE_MS), "seed reference figures of issue 11 (not measured in this run)"
    print(f"load average (1, 5, 15 min): {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} at the start,")
    print(f"                             {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} at the end")
    print(f"baseline: {source}; ours: {len(ours)} cold runs; medians per operation")
    print(f"{'figure':<14}{'ours ms':>10}{'seed ms':>10}{'ratio':>8}  target ≤ {TARGET_RATIO}×")
    failed = False
    for name, _label, _n in FIGURES:
        ratio = ours_median[name] / baseline[name] if baseline[name] else float("inf")
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        failed |= verdict == "FAIL"
        print(f"{name:<14}{ours_median[name]:>10.4f}{baseline[name]:>10.4f}{ratio:>7.2f}×  {verdict}")
    if args.json_path:
        document = {
            "load_average_start": load_before,
            "load_average_end": load_after,
            "baseline": source,
            "ours": [run.figures for run in ours],
            "seed": [run.figures for run in seed],
            "ours_median": ours_median,
            "seed_median": baseline,
        }
        args.json_path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
