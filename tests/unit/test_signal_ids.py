"""Signal ids made ahead of need: uuid4 text, never handed out twice, not shared with a forked child."""

from __future__ import annotations

import multiprocessing
import uuid
from multiprocessing.connection import Connection

from coordination import signal_ids


def test_ids_are_uuid4_text_and_distinct_with_and_without_a_reserve() -> None:
    signal_ids.replenish()
    taken = [signal_ids.take() for _ in range(signal_ids.RESERVE * 3)]  # the reserve, then made on the spot
    assert len(set(taken)) == len(taken)
    assert all(uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text for text in taken)


def test_replenish_keeps_the_reserve_full() -> None:
    signal_ids.take()
    signal_ids.replenish()
    ready = [signal_ids.take() for _ in range(signal_ids.RESERVE)]
    assert len(set(ready)) == signal_ids.RESERVE


def _child_take(conn: Connection) -> None:
    conn.send(signal_ids.take())


def test_a_forked_child_does_not_hand_out_its_parents_ids() -> None:
    signal_ids.replenish()
    parent_reserve = list(signal_ids._ready)
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=_child_take, args=(child_end,))
    child.start()
    taken_by_child = parent_end.recv()
    child.join(10)
    assert taken_by_child not in parent_reserve
    assert signal_ids._ready == parent_reserve  # the parent's reserve is untouched
