"""RingBuffer: bounded FIFO that overwrites its oldest item, safe to share between threads."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.metrics.ring_buffer import RingBuffer


@pytest.mark.parametrize("capacity", [0, -1, 2.5, True])
def test_a_capacity_that_is_not_a_positive_integer_is_refused(capacity: object) -> None:
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(capacity)  # type: ignore[arg-type]


def test_the_default_capacity_is_the_seeds() -> None:
    assert RingBuffer().capacity() == 10000


async def test_items_come_out_oldest_first_in_batches() -> None:
    buffer: RingBuffer[int] = RingBuffer(10)
    for item in range(5):
        assert await buffer.write(item) is True

    assert buffer.read_batch(max_size=3) == [0, 1, 2]
    assert buffer.read_batch() == [3, 4]
    assert buffer.read_batch() == []
    assert buffer.is_empty()


def test_a_full_buffer_drops_its_oldest_item_and_counts_it() -> None:
    buffer: RingBuffer[int] = RingBuffer(3)
    for item in range(3):
        buffer.write_nowait(item)
    assert buffer.is_full()

    buffer.write_nowait(3)

    assert buffer.size() == 3
    assert buffer.overwritten() == 1
    assert buffer.written() == 4
    assert buffer.read_batch() == [1, 2, 3]


def test_peek_all_copies_without_removing() -> None:
    buffer: RingBuffer[str] = RingBuffer(3)
    buffer.write_nowait("a")
    buffer.write_nowait("b")

    assert buffer.peek_all() == ["a", "b"]
    assert buffer.size() == 2


def test_clear_empties_the_buffer() -> None:
    buffer: RingBuffer[int] = RingBuffer(3)
    buffer.write_nowait(1)

    buffer.clear()

    assert buffer.is_empty() and len(buffer) == 0


def test_requeued_items_go_back_in_front_and_do_not_count_as_writes() -> None:
    buffer: RingBuffer[int] = RingBuffer(5)
    for item in range(4):
        buffer.write_nowait(item)
    taken = buffer.read_batch(2)
    buffer.write_nowait(4)

    buffer.requeue(taken)

    assert buffer.peek_all() == [0, 1, 2, 3, 4]
    assert buffer.written() == 5


def test_requeueing_into_a_nearly_full_buffer_drops_the_oldest_items() -> None:
    buffer: RingBuffer[int] = RingBuffer(3)
    taken = [0, 1]
    for item in (2, 3):
        buffer.write_nowait(item)

    buffer.requeue(taken)

    assert buffer.peek_all() == [1, 2, 3]
    assert buffer.overwritten() == 1


def test_a_non_positive_batch_size_reads_nothing() -> None:
    buffer: RingBuffer[int] = RingBuffer(3)
    buffer.write_nowait(1)

    assert buffer.read_batch(0) == []
    assert buffer.size() == 1


@given(capacity=st.integers(1, 50), items=st.lists(st.integers(), max_size=200))
def test_the_buffer_holds_the_last_capacity_items_in_order(capacity: int, items: list[int]) -> None:
    buffer: RingBuffer[int] = RingBuffer(capacity)
    for item in items:
        buffer.write_nowait(item)

    assert buffer.overwritten() == max(0, len(items) - capacity)
    assert buffer.read_batch(capacity) == items[-capacity:]


def test_concurrent_writers_from_many_threads_lose_nothing() -> None:
    buffer: RingBuffer[tuple[int, int]] = RingBuffer(100_000)
    threads = [
        threading.Thread(target=lambda t=t: [buffer.write_nowait((t, i)) for i in range(2000)]) for t in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    items = buffer.read_batch(100_000)
    assert len(items) == 16_000 == buffer.written()
    for t in range(8):
        assert [i for (owner, i) in items if owner == t] == list(range(2000))


def test_writing_several_tells_how_many_were_dropped_and_how_many_are_held() -> None:
    buffer: RingBuffer[int] = RingBuffer(4)
    assert buffer.write_many_nowait([1, 2, 3]) == (0, 3)
    assert buffer.write_many_nowait([4]) == (0, 4)  # exactly full: nothing dropped
    assert buffer.write_many_nowait([5, 6]) == (2, 4)
    assert buffer.overwritten() == 2
    assert buffer.read_batch() == [3, 4, 5, 6]
    assert buffer.write_many_nowait([]) == (0, 0)
