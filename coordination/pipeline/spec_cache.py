"""Workflow declarations of running coordinations, read from the store once per process."""

from __future__ import annotations

import threading
from collections import OrderedDict

from coordination.errors import InvalidInputError
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.records import Records

_CACHE_SIZE = 512
_lock = threading.Lock()
_cache: OrderedDict[str, WorkflowSpec] = OrderedDict()


def workflow_of(records: Records, coordination_id: str) -> WorkflowSpec:
    """Return the workflow a coordination was submitted with.

    Raises:
        InvalidInputError: there is no such coordination (it never existed or has expired).
    """
    with _lock:
        found = _cache.get(coordination_id)
        if found is not None:
            _cache.move_to_end(coordination_id)
            return found
    text = records.workflow_json(coordination_id)
    if text is None:
        raise InvalidInputError("coordination_id", f"no coordination {coordination_id!r} in the store")
    spec = WorkflowSpec.model_validate_json(text)
    with _lock:
        _cache[coordination_id] = spec
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return spec
