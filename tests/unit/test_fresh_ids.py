"""Fresh ids made ahead of need and numbered ids: uuid4 text, never handed out twice, not shared with a forked child."""

from __future__ import annotations

import multiprocessing
import uuid
from multiprocessing.connection import Connection

from coordination import ids
from coordination.ids import ID_RESERVE, new_uuid4, next_number, numbered_id, replenish_ids


def test_ids_are_uuid4_text_with_random_bits_and_distinct() -> None:
    taken = [new_uuid4() for _ in range(ID_RESERVE * 40)]  # many batches
    assert len(set(taken)) == len(taken)
    for text in taken:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    # the bits that are not version or variant are random: every hex digit shows up in every such position
    for position in (0, 9, 15, 20, 35):
        assert len({text[position] for text in taken}) == 16
    assert {text[19] for text in taken} == set("89ab")


def test_replenish_keeps_the_reserve_full() -> None:
    new_uuid4()
    replenish_ids()
    assert len(ids._ready_ids) == ID_RESERVE
    ready = [new_uuid4() for _ in range(ID_RESERVE)]
    assert len(set(ready)) == ID_RESERVE


def _child_take(conn: Connection) -> None:
    conn.send(new_uuid4())


def test_a_forked_child_does_not_hand_out_its_parents_ids() -> None:
    replenish_ids()
    parent_reserve = list(ids._ready_ids)
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=_child_take, args=(child_end,))
    child.start()
    taken_by_child = parent_end.recv()
    child.join(10)
    assert taken_by_child not in parent_reserve
    assert ids._ready_ids == parent_reserve  # the parent's reserve is untouched


def test_numbered_ids_are_uuid4_text_the_same_for_a_number_and_distinct_between_numbers() -> None:
    numbers = [next_number() for _ in range(1000)]
    texts = [numbered_id(number) for number in numbers]
    assert len(set(texts)) == len(texts)
    assert [numbered_id(number) for number in numbers] == texts  # read twice: the same ids
    for text in texts:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


def _child_numbered(conn: Connection) -> None:
    conn.send(numbered_id(next_number()))


def test_a_forked_child_numbers_its_ids_under_a_prefix_of_its_own() -> None:
    number = next_number()
    parent_id = numbered_id(number)
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=_child_numbered, args=(child_end,))
    child.start()
    child_id = parent_end.recv()
    child.join(10)
    assert child_id[:24] != parent_id[:24]  # 74 random bits of its own, so the counters' overlap cannot collide
    assert numbered_id(number) == parent_id
