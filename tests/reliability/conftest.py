"""Fault tests reuse the end-to-end services fixture (real worker and beat processes)."""

from tests.e2e.conftest import pipeline_services  # noqa: F401  (a fixture, used by name)
