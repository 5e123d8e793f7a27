"""Figures, targets, percentiles and the two outputs (a Rich table and a JSON document)."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def percentile(samples: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0..100) with linear interpolation (NaN for no samples)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples: Sequence[float]) -> dict[str, float]:
    """p50 / p90 / p99 / min / max / n of a sample list."""
    return {
        "p50": percentile(samples, 50),
        "p90": percentile(samples, 90),
        "p99": percentile(samples, 99),
        "min": min(samples) if samples else math.nan,
        "max": max(samples) if samples else math.nan,
        "n": float(len(samples)),
    }


@dataclass(frozen=True)
class Target:
    """A pass/fail rule: ``max`` (value ≤ limit), ``ratio_max`` (value/baseline ≤ limit),
    ``ratio_min`` (value/baseline ≥ limit), ``band`` (low ≤ value ≤ limit) or ``info`` (no rule)."""

    kind: str
    limit: float = math.nan
    low: float = math.nan
    unit: str = ""

    def check(self, value: float, ratio: float | None) -> bool | None:
        """True/False for a rule, None for ``info``."""
        if self.kind == "info":
            return None
        if math.isnan(value):
            return False
        if self.kind == "max":
            return value <= self.limit
        if self.kind == "ratio_max":
            return ratio is not None and not math.isnan(ratio) and ratio <= self.limit
        if self.kind == "ratio_min":
            return ratio is not None and not math.isnan(ratio) and ratio >= self.limit
        if self.kind == "band":
            return self.low <= value <= self.limit
        raise ValueError(f"unknown target kind {self.kind!r}")

    def text(self) -> str:
        """Human-readable rule."""
        if self.kind == "max":
            return f"≤ {_num(self.limit)} {self.unit}".rstrip()
        if self.kind == "ratio_max":
            return f"≤ {_num(self.limit)}× baseline"
        if self.kind == "ratio_min":
            return f"≥ {_num(self.limit)}× baseline"
        if self.kind == "band":
            return f"{_num(self.low)}–{_num(self.limit)}{self.unit}"
        return "—"


@dataclass
class Figure:
    """One measured figure, with its in-run baseline, its target and the seed's published number."""

    key: str
    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_name: str
    target: Target
    seed_published: str = ""
    detail: str = ""
    stats: dict[str, float] = field(default_factory=dict)
    baseline_stats: dict[str, float] = field(default_factory=dict)
    not_measured: str = ""  # why the figure could not be measured in this run (its value is then NaN)

    @property
    def ratio(self) -> float | None:
        """Value divided by the in-run baseline."""
        if self.baseline is None or self.baseline == 0 or math.isnan(self.baseline):
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool | None:
        """Whether the target is met (None for an informational or unmeasured figure)."""
        if self.not_measured:
            return None
        return self.target.check(self.value, self.ratio)

    def as_json(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes null)."""
        return {
            "key": self.key,
            "name": self.name,
            "value": _finite(self.value),
            "unit": self.unit,
            "baseline": _finite(self.baseline),
            "baseline_name": self.baseline_name,
            "ratio": _finite(self.ratio),
            "target": self.target.text(),
            "target_kind": self.target.kind,
            "target_limit": _finite(self.target.limit),
            "passed": self.passed,
            "seed_published": self.seed_published,
            "detail": self.detail,
            "stats": {k: _finite(v) for k, v in self.stats.items()},
            "baseline_stats": {k: _finite(v) for k, v in self.baseline_stats.items()},
            "not_measured": self.not_measured or None,
        }


def machine() -> dict[str, Any]:
    """Where the run happened."""
    return {
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_1m_at_end": os.getloadavg()[0],
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def render(figures: Sequence[Figure], title: str, console: Console | None = None) -> None:
    """Print the results table."""
    table = Table(title=title, show_lines=False)
    for column, justify in (
        ("Figure", "left"),
        ("Value", "right"),
        ("Baseline (this run)", "right"),
        ("Ratio", "right"),
        ("Target", "left"),
        ("Result", "center"),
        ("Seed published", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for fig in figures:
        baseline = "—" if fig.baseline is None else f"{_num(fig.baseline)} {fig.unit}  [dim]{fig.baseline_name}[/]"
        ratio = "—" if fig.ratio is None else f"{fig.ratio:.2f}×"
        passed = fig.passed
        result = "[dim]info[/]" if passed is None else ("[green]PASS[/]" if passed else "[bold red]FAIL[/]")
        if fig.not_measured:
            result = "[yellow]not measured[/]"
        table.add_row(
            fig.name,
            f"not measured: {fig.not_measured}" if fig.not_measured else f"{_num(fig.value)} {fig.unit}",
            baseline,
            ratio,
            fig.target.text(),
            result,
            fig.seed_published or "—",
        )
    (console or Console()).print(table)


def write_json(path: str, figures: Sequence[Figure], meta: dict[str, Any]) -> None:
    """Write the figures and the run's metadata to ``path``."""
    rules = [fig.passed for fig in figures if fig.passed is not None]
    document = {
        **meta,
        "passed": all(rules),
        "failed": [fig.key for fig in figures if fig.passed is False],
        "figures": [fig.as_json() for fig in figures],
    }
    Path(path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def markdown_table(document: dict[str, Any]) -> str:
    """The figures of a JSON document written by :func:`write_json`, as a Markdown table."""
    lines = [
        "| Figure | Value | Baseline (this run) | Ratio | Target | Result | Seed published |",
        "|---|---:|---:|---:|---|:---:|---|",
    ]
    for fig in document["figures"]:
        unit = fig["unit"]
        value = "—" if fig["value"] is None else f"{_num(fig['value'])} {unit}"
        if fig.get("not_measured"):
            value = f"not measured: {fig['not_measured']}"
        baseline = "—" if fig["baseline"] is None else f"{_num(fig['baseline'])} {unit} ({fig['baseline_name']})"
        ratio = "—" if fig["ratio"] is None else f"{fig['ratio']:.2f}×"
        passed = fig["passed"]
        result = "info" if passed is None else ("PASS" if passed else "**FAIL**")
        if fig.get("not_measured"):
            result = "not measured"
        lines.append(
            f"| {fig['name']} | {value} | {baseline} | {ratio} | {fig['target']} | {result} "
            f"| {fig['seed_published'] or '—'} |"
        )
    return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    if math.isnan(value):
        return "nan"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _finite(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return value
