"""The seed guide's text for the tests that compare the examples with it: skipped locally, failed in CI, if absent."""

from __future__ import annotations

import pytest

from tests.conftest import IN_CI
from tests.integration.seed_guide.guide import GUIDE


@pytest.fixture(scope="session")
def guide() -> str:
    """The guide's text, read from ``../shared/seed/`` beside the repository."""
    if not GUIDE.is_file():
        message = f"the seed guide is not at {GUIDE} (shared/ beside the repository)"
        if IN_CI:
            pytest.fail(message + " -- required when CI is set", pytrace=False)
        pytest.skip(message)
    return GUIDE.read_text(encoding="utf-8")
