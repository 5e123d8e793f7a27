"""Where ``coord bench`` finds the benchmark suite: ``bench/`` of the source checkout, never the installed package.

The suite is not part of the wheel (it measures the service, it is not the service). ``coord`` installed in
editable mode from a checkout runs it from there; installed from a wheel it says how to get it.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import coordination

#: The checkout the package was imported from, when it was (a wheel's ``site-packages`` has no ``bench/``).
CHECKOUT = Path(coordination.__file__).resolve().parents[1]


class BenchUnavailableError(RuntimeError):
    """The benchmark suite cannot be imported here; the message says what to do."""


def load_bench(name: str) -> ModuleType:
    """Import ``bench.<name>``, from the checkout this package runs from if it is not on the path already.

    Raises:
        BenchUnavailableError: no checkout with ``bench/`` here (installed from a wheel), or the ``bench`` extra's
            dependencies are missing.
    """
    module = f"bench.{name}"
    if "bench" not in sys.modules and (CHECKOUT / "bench" / "__init__.py").is_file():
        # `coord` runs from the virtual environment's bin/, so the checkout is not on the path by itself.
        sys.path.insert(0, str(CHECKOUT))
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name in ("bench", module):
            raise BenchUnavailableError(
                "the benchmark suite is not installed with the package: run it from a source checkout "
                "(pip install -e '.[bench]', then `coord bench` or `python -m bench`)"
            ) from None
        raise BenchUnavailableError(
            f"the benchmark suite needs {error.name!r}: pip install -e '.[bench]' in the checkout"
        ) from None
