"""What the seed's own models accept: unknown fields are ignored with a warning, as the seed ignored them (pure).

The seed's pydantic models used pydantic's default ``extra="ignore"``, so seed code passes fields they never had
(``ResourceAllocation(max_memory_mb=512, max_cpu_cores=2)``) and relies on that working. Here such a field is
accepted, kept out of the model (so it is never stored), and reported once per model and field: a
:class:`SeedCompatibilityWarning` and a log line. The project's own declarations (workflow files, ``Workflow(...)``,
``WorkflowSpec`` and its parts, settings) stay strict: they use :class:`~coordination.models.base.StrictModel`, or
a strict subclass of a seed model (``extra="forbid"``), where an unknown field is an error naming it.
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from collections.abc import Iterable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

logger = logging.getLogger(__name__)


class SeedCompatibilityWarning(UserWarning):
    """Seed code used something the seed tolerated and this project only accepts for compatibility.

    Raised (as a warning) once per model and field when an unknown field is passed to one of the seed's models or
    to a seed API that takes a dict of its fields; the field is ignored and not stored.
    """


_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def warn_unknown_fields(model: str, unknown: Iterable[str], accepted: Iterable[str]) -> None:
    """Report fields of ``model`` that are ignored: once per model and field, as a warning and a log line.

    Args:
        model: the model (or seed API input) the fields were given to, e.g. ``"ResourceAllocation"``.
        unknown: the names that are not fields of it.
        accepted: its field names, listed in the message so a misspelling is easy to see.
    """
    fresh: list[str] = []
    with _warned_lock:
        for name in sorted(map(str, unknown)):
            if (model, name) not in _warned:
                _warned.add((model, name))
                fresh.append(name)
    if not fresh:
        return
    known = ", ".join(sorted(accepted))
    for name in fresh:
        message = (
            f"{model}: unknown field {name!r} is ignored and not stored, as in the seed "
            f"(fields: {known}); this warning is given once"
        )
        logger.warning("%s", message)
        warnings.warn(message, SeedCompatibilityWarning, stacklevel=_caller_stacklevel())


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that points the warning at the first frame outside this package and pydantic."""
    frame = sys._getframe(2)  # the caller of warn_unknown_fields, which is level 2 for warnings.warn
    level = 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(_INTERNAL_MODULES):
        frame = frame.f_back
        level += 1
    return level


_INTERNAL_MODULES = ("coordination.", "pydantic.", "pydantic_core")


def forget_warnings() -> None:
    """Forget which fields were reported, so they are reported again (for tests)."""
    with _warned_lock:
        _warned.clear()


class SeedModel(BaseModel):
    """Base of the seed's own models: unknown fields are ignored (as in the seed) and reported once.

    A subclass that sets ``extra="forbid"`` (the strict variants used inside workflow declarations) refuses them
    instead, with pydantic's error naming the field.
    """

    model_config = ConfigDict(extra="ignore")

    _accepted_names: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        names = set(cls.model_fields)
        names.update(field.alias for field in cls.model_fields.values() if field.alias)
        cls._accepted_names = frozenset(names)

    @model_validator(mode="before")
    @classmethod
    def _ignore_unknown_fields(cls, data: Any) -> Any:
        accepted = cls._accepted_names
        if type(data) is dict and not accepted.issuperset(data) and cls.model_config.get("extra") == "ignore":
            warn_unknown_fields(cls.__name__, data.keys() - accepted, cls.model_fields)
        return data


class FrozenSeedModel(SeedModel):
    """An immutable seed model (unknown fields ignored and reported, like :class:`SeedModel`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


__all__ = ["FrozenSeedModel", "SeedCompatibilityWarning", "SeedModel", "forget_warnings", "warn_unknown_fields"]
