"""The seed's ``pending_dependencies`` / ``resolved_dependencies`` dicts, as live mappings over the store.

The seed's ``DependencyResolver`` kept two process-local dicts that callers read and assigned::

    resolver.pending_dependencies[cid]    # -> list[Dependency]   every dependency registered for cid
    resolver.resolved_dependencies[cid]   # -> {dependency id: bool}

Here dependencies live in Redis, shared by every process, so these are views: reading shows what Redis holds
now, and assigning registers or records there, with the effect the seed's assignment had on
``get_dependency_status``, ``get_pending_dependencies_count`` and ``clear_coordination_dependencies``:

* ``pending_dependencies[cid] = [dep, ...]`` registers each dependency (one with a final status, e.g. after
  ``dep.mark_resolved()``, is registered as settled with it) and forgets the coordination's other dependencies,
  as the seed's assignment replaced the list. The returned lists are copies: change them by assigning again.
* ``resolved_dependencies[cid] = {dep_id: True}`` (or ``resolved_dependencies[cid][dep_id] = True``) resolves
  the registered dependency if it is pending, and records the mark itself, so ``get_dependency_status`` reports
  ``resolved`` for it even when it was never registered (``status`` is then ``"unknown"``, as in the seed).
  ``resolved_dependencies[cid]`` is a live view, empty for a coordination without resolutions (``cid in
  resolved_dependencies`` is False then). A dependency that is resolved stays resolved: assigning replaces only
  the recorded marks.
* ``del mapping[cid]`` forgets that view's part: the registered dependencies, or the resolution marks.

``len()`` and iteration cover the coordinations of the resolver's namespace that have dependencies (pending) or
resolved dependencies and marks (resolved).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Protocol

from coordination.errors import InvalidInputError
from coordination.ids import validate_id
from coordination.models.dependencies import Dependency


class DependencyRecords(Protocol):
    """What the views need from the resolver's store access."""

    def coordinations_with_dependencies(self) -> list[str]:
        """Coordination ids of the namespace that have registered dependencies."""

    def coordinations_with_resolutions(self) -> list[str]:
        """Coordination ids of the namespace that have resolved dependencies or resolution marks."""

    def dependencies_of(self, coordination_id: str) -> list[Dependency]:
        """Every registered dependency of the coordination, as it stands now."""

    def resolutions_of(self, coordination_id: str) -> dict[str, bool]:
        """Dependency id -> resolved, for resolved dependencies and recorded marks."""

    def replace_dependencies(self, coordination_id: str, dependencies: list[Dependency]) -> None:
        """Register ``dependencies`` with their statuses and forget the coordination's others."""

    def record_resolutions(self, coordination_id: str, marks: Mapping[str, bool], *, replace: bool) -> None:
        """Record resolution marks (resolving the registered dependencies marked True)."""

    def forget_dependencies(self, coordination_id: str) -> None:
        """Forget the coordination's registered dependencies (records, waiters, due checks)."""

    def forget_resolutions(self, coordination_id: str, dependency_ids: Iterable[str] | None) -> None:
        """Drop resolution marks (all of them when ``dependency_ids`` is None)."""


class PendingDependencies(MutableMapping[str, list[Dependency]]):
    """``resolver.pending_dependencies``: coordination id -> its dependencies, read from and written to Redis."""

    def __init__(self, records: DependencyRecords) -> None:
        self._records = records

    def __getitem__(self, coordination_id: str) -> list[Dependency]:
        dependencies = self._records.dependencies_of(coordination_id)
        if not dependencies:
            raise KeyError(coordination_id)
        return dependencies

    def __setitem__(self, coordination_id: str, dependencies: list[Dependency]) -> None:
        items = list(dependencies)
        for position, dependency in enumerate(items):
            if not isinstance(dependency, Dependency):
                raise InvalidInputError(
                    f"pending_dependencies[{coordination_id!r}][{position}]",
                    f"must be a Dependency, got {type(dependency).__name__}",
                )
        self._records.replace_dependencies(coordination_id, items)

    def __delitem__(self, coordination_id: str) -> None:
        if not self._records.dependencies_of(coordination_id):
            raise KeyError(coordination_id)
        self._records.forget_dependencies(coordination_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._records.coordinations_with_dependencies())

    def __len__(self) -> int:
        return len(self._records.coordinations_with_dependencies())

    def __contains__(self, coordination_id: object) -> bool:
        return isinstance(coordination_id, str) and bool(self._records.dependencies_of(coordination_id))

    def __repr__(self) -> str:
        return f"PendingDependencies({dict(self)!r})"


class ResolvedDependencies(MutableMapping[str, "ResolvedOf"]):
    """``resolver.resolved_dependencies``: coordination id -> {dependency id: resolved}, live over Redis."""

    def __init__(self, records: DependencyRecords) -> None:
        self._records = records

    def __getitem__(self, coordination_id: str) -> ResolvedOf:
        # Always a view (empty for a coordination without resolutions), so that the seed's pattern
        # ``resolved[cid] = {}`` then ``resolved[cid][dep_id] = True`` records, as its dict did.
        validate_id(coordination_id, "coordination_id")
        return ResolvedOf(self._records, coordination_id)

    def __setitem__(self, coordination_id: str, marks: Mapping[str, bool]) -> None:
        self._records.record_resolutions(coordination_id, _checked_marks(coordination_id, marks), replace=True)

    def __delitem__(self, coordination_id: str) -> None:
        if coordination_id not in self:
            raise KeyError(coordination_id)
        self._records.forget_resolutions(coordination_id, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._records.coordinations_with_resolutions())

    def __len__(self) -> int:
        return len(self._records.coordinations_with_resolutions())

    def __contains__(self, coordination_id: object) -> bool:
        return isinstance(coordination_id, str) and bool(self._records.resolutions_of(coordination_id))

    def __repr__(self) -> str:
        return f"ResolvedDependencies({ {cid: dict(marks) for cid, marks in self.items()}!r})"


class ResolvedOf(MutableMapping[str, bool]):
    """One coordination's ``{dependency id: resolved}``, live: ``resolver.resolved_dependencies[cid]``."""

    def __init__(self, records: DependencyRecords, coordination_id: str) -> None:
        self._records = records
        self.coordination_id = coordination_id

    def __getitem__(self, dependency_id: str) -> bool:
        return self._records.resolutions_of(self.coordination_id)[dependency_id]

    def __setitem__(self, dependency_id: str, resolved: bool) -> None:
        marks = _checked_marks(self.coordination_id, {dependency_id: resolved})
        self._records.record_resolutions(self.coordination_id, marks, replace=False)

    def __delitem__(self, dependency_id: str) -> None:
        if dependency_id not in self:
            raise KeyError(dependency_id)
        self._records.forget_resolutions(self.coordination_id, [dependency_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self._records.resolutions_of(self.coordination_id))

    def __len__(self) -> int:
        return len(self._records.resolutions_of(self.coordination_id))

    def __repr__(self) -> str:
        return repr(self._records.resolutions_of(self.coordination_id))


def _checked_marks(coordination_id: str, marks: Mapping[str, bool]) -> dict[str, bool]:
    where = f"resolved_dependencies[{coordination_id!r}]"
    if not isinstance(marks, Mapping):
        raise InvalidInputError(where, f"must be a dict of dependency id -> bool, got {type(marks).__name__}")
    checked: dict[str, bool] = {}
    for dependency_id, resolved in marks.items():
        validate_id(dependency_id, f"{where} key")
        if not isinstance(resolved, bool):
            raise InvalidInputError(f"{where}[{dependency_id!r}]", f"must be a bool, got {resolved!r}")
        checked[dependency_id] = resolved
    return checked


__all__ = ["DependencyRecords", "PendingDependencies", "ResolvedDependencies", "ResolvedOf"]
