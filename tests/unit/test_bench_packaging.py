"""The benchmark suite stays in the checkout: the wheel holds the service only, and `coord bench` says so."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]


def test_the_packages_a_wheel_holds_are_the_services_own() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = project["tool"]["setuptools"]["packages"]["find"]
    packages = find_namespace_packages(where=str(ROOT), include=found["include"], exclude=found.get("exclude", ()))

    assert {name.split(".")[0] for name in packages} == {"config", "coordination", "tasks", "beat"}
    assert "coordination.store" in packages and "coordination.archive.migrations" in packages


def test_the_benchmarks_dependencies_are_an_extra_that_dev_includes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    assert not any(requirement.startswith("psutil") for requirement in project["dependencies"])
    assert any(requirement.startswith("psutil") for requirement in project["optional-dependencies"]["bench"])
    assert "agent-coordination[bench]" in project["optional-dependencies"]["dev"]


# A fresh interpreter outside the checkout, as an installed `coord` would be, with no checkout beside the package.
WITHOUT_CHECKOUT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path({root!r})]
    from coordination.cli import benchmarks
    benchmarks.CHECKOUT = Path({empty!r})
    try:
        benchmarks.load_bench("core")
    except benchmarks.BenchUnavailableError as error:
        print(error)
    """
)


def test_without_a_checkout_coord_bench_says_where_the_suite_is(tmp_path: Path) -> None:
    code = WITHOUT_CHECKOUT.format(root=str(ROOT), empty=str(tmp_path))
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True
    )

    assert "not installed with the package" in completed.stdout, completed.stderr[-2000:]
    assert "source checkout" in completed.stdout


def test_from_the_checkout_the_suite_is_found_wherever_coord_runs(tmp_path: Path) -> None:
    code = "from coordination.cli import benchmarks; print(benchmarks.load_bench('harness').__file__)"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True
    )

    assert Path(completed.stdout.strip()) == ROOT / "bench" / "harness.py"
