"""What ``run.progress`` and ``run.stream`` accept (validated before anything is sent)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from coordination.errors import InvalidInputError
from coordination.pipeline.progress import checked_fraction, checked_text


@pytest.mark.parametrize("good", [0, 1, 0.0, 0.5, 1.0, 1e-9])
def test_a_finite_fraction_from_zero_to_one_is_accepted(good: float) -> None:
    assert checked_fraction(good) == float(good)


@pytest.mark.parametrize("bad", [-1e-9, 1.000001, 2, -1, math.nan, math.inf, True, False, "0.5", None, 10**400])
def test_anything_else_is_refused_naming_fraction(bad: Any) -> None:
    with pytest.raises(InvalidInputError) as refused:
        checked_fraction(bad)
    assert refused.value.field == "fraction"


def test_texts_are_bounded_and_must_be_unicode_text() -> None:
    assert checked_text("é" * 10, "message", 10) == "é" * 10
    for bad in ("x" * 11, b"bytes", 42, "\udc80"):
        with pytest.raises(InvalidInputError) as refused:
            checked_text(bad, "message", 10)
        assert refused.value.field == "message"
