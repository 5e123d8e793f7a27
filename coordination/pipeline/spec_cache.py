"""Workflow declarations of running coordinations, read from the store once per process."""

from __future__ import annotations

import threading
from collections import OrderedDict

from coordination.errors import CoordinationNotFoundError
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.records import Records

_CACHE_SIZE = 512
_lock = threading.Lock()
_cache: OrderedDict[str, WorkflowSpec] = OrderedDict()


def workflow_of(records: Records, coordination_id: str) -> WorkflowSpec:
    """Return the workflow a coordination was submitted with.

    Raises:
        CoordinationNotFoundError: there is no such coordination (it never existed or has expired).
    """
    found = cached_workflow(coordination_id)
    if found is not None:
        return found
    text = records.workflow_json(coordination_id)
    if text is None:
        raise CoordinationNotFoundError(coordination_id, "in Redis (never submitted, or expired after archiving)")
    return remember_workflow(coordination_id, text)


def stored_workflow(records: Records, coordination_id: str) -> WorkflowSpec | None:
    """:func:`workflow_of`, or None when the store holds no workflow under that id.

    None means "not a pipeline coordination" (a resolver or coordinator used directly) or "expired": one read
    answers both "is it a pipeline coordination?" and "which workflow?".
    """
    found = cached_workflow(coordination_id)
    if found is not None:
        return found
    text = records.workflow_json(coordination_id)
    return None if text is None else remember_workflow(coordination_id, text)


def cached_workflow(coordination_id: str) -> WorkflowSpec | None:
    """The workflow of a coordination if this process has read it already (no I/O), else None."""
    with _lock:
        found = _cache.get(coordination_id)
        if found is not None:
            _cache.move_to_end(coordination_id)
        return found


def remember_workflow(coordination_id: str, workflow_json: str) -> WorkflowSpec:
    """Parse a coordination's stored workflow declaration, keep it in this process's cache, and return it."""
    return keep_workflow(coordination_id, WorkflowSpec.model_validate_json(workflow_json))


def keep_workflow(coordination_id: str, spec: WorkflowSpec) -> WorkflowSpec:
    """Keep ``spec`` (exactly what was stored for the coordination) in this process's cache, and return it."""
    with _lock:
        _cache[coordination_id] = spec
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return spec
