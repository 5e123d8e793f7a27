"""Shared pieces of every model: strict field checking and timezone-aware UTC timestamps (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the seed used naive ``utcnow()``)."""
    return datetime.now(UTC)


class StrictModel(BaseModel):
    """Base model: unknown fields are errors, not silently dropped (the seed ignored them)."""

    model_config = ConfigDict(extra="forbid")


class FrozenModel(BaseModel):
    """Immutable strict model."""

    model_config = ConfigDict(extra="forbid", frozen=True)
