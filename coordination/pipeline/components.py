"""The coordination objects of the pipeline namespace, built lazily once per process (never at import)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from config.settings import get_settings
from coordination.context import ContextDistributor
from coordination.dependencies import DependencyResolver
from coordination.signals import SignalCoordinator
from coordination.state import ThreadSafeState
from coordination.store.keys import Keys


@dataclass(frozen=True)
class Components:
    """Everything the pipeline shares through the store, in its namespace."""

    state: ThreadSafeState[Any]
    signals: SignalCoordinator
    resolver: DependencyResolver
    contexts: ContextDistributor

    @property
    def keys(self) -> Keys:
        """Key builder of the pipeline namespace."""
        return self.state.store_keys


_lock = threading.Lock()
_built: dict[tuple[int, str, str], Components] = {}


def components() -> Components:
    """Return this process's pipeline components (rebuilt after fork or when the settings change)."""
    settings = get_settings()
    key = (os.getpid(), settings.namespace, settings.pipeline_namespace)
    found = _built.get(key)
    if found is None:
        with _lock:
            found = _built.get(key)
            if found is None:
                state: ThreadSafeState[Any] = ThreadSafeState(namespace=settings.pipeline_namespace)
                signals = SignalCoordinator(state, max_history_size=settings.signal_history_size)
                found = Components(
                    state=state,
                    signals=signals,
                    resolver=DependencyResolver(signals, state=state),
                    contexts=ContextDistributor(state),
                )
                _built[key] = found
    return found
