"""The agent messages a pipeline sends, captured at ``Dispatcher.publish`` instead of going to a broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from config.settings import reload_settings
from coordination.pipeline.background import writer_for
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import Records, Send
from coordination.store.connection import reset_clients

Sent = list[tuple[str, str, int]]


def captured_sends(monkeypatch: pytest.MonkeyPatch, prefix: str, **settings: str) -> Iterator[Sent]:
    """Use a pipeline namespace ``<prefix>-<hex>`` (and ``COORD_<NAME>`` settings); yield the messages sent.

    For a fixture: ``yield from captured_sends(monkeypatch, "map")``. Each message is
    ``(coordination_id, agent_id, attempt)``.
    """
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"{prefix}-{uuid.uuid4().hex[:8]}")
    for name, value in settings.items():
        monkeypatch.setenv(f"COORD_{name.upper()}", value)
    reload_settings()
    reset_clients()
    messages: Sent = []

    def capture(self: Dispatcher, task: str, queue: str, item: Send, task_id: str | None = None) -> None:
        messages.append((item.coordination_id, item.agent_id, item.attempt))

    monkeypatch.setattr(Dispatcher, "publish", capture)
    yield messages
    # Write the last "sent" marks now, so that the background writer's thread is not writing them while the clients
    # are reset below (it would find its connection closed under it).
    writer_for(Records(components().keys)).flush_marks()
    monkeypatch.undo()
    reload_settings()
    reset_clients()
