"""Shared pieces of every model: strict field checking and timezone-aware UTC timestamps (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

_M = TypeVar("_M", bound=BaseModel)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the seed used naive ``utcnow()``)."""
    return datetime.now(UTC)


class StrictModel(BaseModel):
    """Base model: unknown fields are errors, not silently dropped (the seed ignored them)."""

    model_config = ConfigDict(extra="forbid")


class FrozenModel(BaseModel):
    """Immutable strict model."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def prevalidated(model: type[_M], values: dict[str, Any]) -> _M:
    """Build a model from values that are already valid, in field order, with every field given.

    Does what ``model_construct`` does for such values (set the instance dict, the set fields, no extras, no
    private attributes) at a fifth of its cost, for hot paths that checked their inputs themselves. Unit tests
    check that the result equals the validated model.
    """
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance
