"""The worker process's background writer survives an unexpected error (else its attempts would lose their leases)."""

from __future__ import annotations

import threading

import pytest

from coordination.pipeline.background import BackgroundWriter
from coordination.pipeline.records import Send


class _FlakyWriter(BackgroundWriter):
    """Fails its first flush with an error that is not a store error, then records what it flushes."""

    def __init__(self) -> None:
        super().__init__(records=None)  # type: ignore[arg-type]  # never touches the store here
        self.calls = 0
        self.flushed: list[Send] = []
        self.done = threading.Event()

    def flush_marks(self) -> None:
        self.calls += 1
        with self.lock:
            marks, self.marks = self.marks, []
        if self.calls == 1:
            raise TypeError("a bug below us, not a store error")
        self.flushed.extend(marks)
        self.done.set()


def test_an_unexpected_error_is_logged_and_the_writer_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    writer = _FlakyWriter()
    threading.Thread(target=writer.run_forever, daemon=True).start()

    writer.mark_sent([Send("c", "a", 1, 0.0)])  # its flush fails
    later = Send("c", "b", 1, 0.0)
    for _ in range(50):  # the thread is still there: a later mark is written
        writer.mark_sent([later])
        if writer.done.wait(0.1):
            break

    assert writer.calls >= 2 and later in writer.flushed
    assert "background writer: unexpected error" in caplog.text
