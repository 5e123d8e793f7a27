"""Fresh ids: uuid4 text, never handed out twice, a random part of each process's own, not shared with a fork."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import uuid
from multiprocessing.connection import Connection

from coordination.ids import new_uuid4, next_number, numbered_id

_RANDOM_PART = 24  # "xxxxxxxx-xxxx-4xxx-yxxx-": the part drawn once per process; the last 12 digits count


def _is_uuid4_text(text: str) -> bool:
    parsed = uuid.UUID(text)
    return parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


def test_fresh_ids_are_uuid4_text_and_distinct() -> None:
    taken = [new_uuid4() for _ in range(10_000)]
    assert len(set(taken)) == len(taken)
    assert all(_is_uuid4_text(text) for text in taken)


def test_numbered_ids_are_the_same_text_every_time_and_distinct_between_numbers() -> None:
    numbers = [next_number() for _ in range(1000)]
    texts = [numbered_id(number) for number in numbers]
    assert len(set(texts)) == len(texts)
    assert [numbered_id(number) for number in numbers] == texts  # read twice: the same ids
    assert all(_is_uuid4_text(text) for text in texts)
    assert new_uuid4() not in texts  # both take from one counter


def test_every_process_draws_a_random_part_of_its_own() -> None:
    script = "from coordination.ids import new_uuid4; print(new_uuid4())"
    others = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(4)
    }
    parts = {text[:_RANDOM_PART] for text in others} | {new_uuid4()[:_RANDOM_PART]}
    assert len(parts) == 5
    assert all(_is_uuid4_text(text) for text in others)


def _child_take(conn: Connection) -> None:
    conn.send([new_uuid4(), numbered_id(next_number())])


def test_a_forked_child_does_not_hand_out_its_parents_ids() -> None:
    before = new_uuid4()
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=_child_take, args=(child_end,))
    child.start()
    taken_by_child = parent_end.recv()
    child.join(10)
    after = [new_uuid4(), numbered_id(next_number())]
    assert all(text[:_RANDOM_PART] != before[:_RANDOM_PART] for text in taken_by_child)
    assert all(text[:_RANDOM_PART] == before[:_RANDOM_PART] for text in after)  # the parent's part is unchanged
    assert not set(taken_by_child) & set(after)
