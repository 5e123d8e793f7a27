"""A TCP relay to Redis that understands RESP well enough to lose the reply of one chosen command.

The server receives and runs the command; the relay then closes the client's connection instead of passing the
reply on — exactly what a network cut between "the script ran" and "its reply arrived" looks like to the client,
which reconnects and sends the command again.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from collections.abc import Callable

Command = list[bytes]


def _line_end(buffer: bytes | bytearray, start: int) -> int:
    end = buffer.find(b"\r\n", start)
    return -1 if end < 0 else end


def parse_command(buffer: bytearray) -> tuple[Command, int] | None:
    """One RESP command (an array of bulk strings) from the start of ``buffer``: ``(parts, length)`` or None."""
    if not buffer or buffer[0:1] != b"*":
        return None if not buffer else ([bytes(buffer)], len(buffer))  # (redis-py never sends inline commands)
    end = _line_end(buffer, 0)
    if end < 0:
        return None
    count = int(buffer[1:end])
    position = end + 2
    parts: Command = []
    for _ in range(count):
        end = _line_end(buffer, position)
        if end < 0:
            return None
        size = int(buffer[position + 1 : end])
        start = end + 2
        if len(buffer) < start + size + 2:
            return None
        parts.append(bytes(buffer[start : start + size]))
        position = start + size + 2
    return parts, position


def reply_length(buffer: bytes | bytearray, position: int = 0) -> int | None:
    """The length of one complete RESP2/RESP3 reply starting at ``position``, or None if it is not all there yet."""
    if len(buffer) <= position:
        return None
    kind = buffer[position : position + 1]
    end = _line_end(buffer, position)
    if end < 0:
        return None
    if kind in (b"+", b"-", b":", b"_", b",", b"#", b"("):  # simple types, one line
        return end + 2 - position
    size = int(buffer[position + 1 : end])
    if kind in (b"$", b"=", b"!"):  # bulk, verbatim and blob-error strings
        if size < 0:
            return end + 2 - position
        total = end + 2 + size + 2
        return total - position if len(buffer) >= total else None
    if kind in (b"*", b"~", b">", b"%", b"|"):  # arrays, sets, pushes; maps and attributes hold pairs
        elements = max(size, 0) * (2 if kind in (b"%", b"|") else 1)
        cursor = end + 2
        for _ in range(elements):
            length = reply_length(buffer, cursor)
            if length is None:
                return None
            cursor += length
        if kind == b"|":  # an attribute precedes the reply it describes
            rest = reply_length(buffer, cursor)
            return None if rest is None else cursor + rest - position
        return cursor - position
    raise ValueError(f"unexpected RESP type {kind!r}")


class ReplyDroppingProxy:
    """Relays 127.0.0.1:<port> to ``target``; :meth:`drop_reply` loses the reply of the next matching command.

    Args:
        target: the real server's ``(host, port)``.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.dropped: list[Command] = []
        self._lock = threading.Lock()
        self._match: Callable[[Command], bool] | None = None
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_reply(self, match: Callable[[Command], bool]) -> None:
        """Lose the reply of the next command for which ``match(parts)`` is true (once)."""
        with self._lock:
            self._match = match

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
            pending: deque[Command | None] = deque()
            threading.Thread(target=self._requests, args=(client, upstream, pending), daemon=True).start()
            threading.Thread(target=self._replies, args=(upstream, client, pending), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket, pending: deque[Command | None]) -> None:
        buffer = bytearray()
        try:
            while data := client.recv(65536):
                buffer += data
                while (parsed := parse_command(buffer)) is not None:
                    parts, length = parsed
                    with self._lock:
                        drop = self._match is not None and self._match(parts)
                        if drop:
                            self._match = None
                    # Remember the command before forwarding it, so its reply finds the mark.
                    pending.append(parts if drop else None)
                    upstream.sendall(bytes(buffer[:length]))
                    del buffer[:length]
        except OSError:
            pass
        finally:
            _close(client, upstream)

    def _replies(self, upstream: socket.socket, client: socket.socket, pending: deque[Command | None]) -> None:
        buffer = bytearray()
        try:
            while data := upstream.recv(65536):
                buffer += data
                while (length := reply_length(buffer)) is not None:
                    marked = pending.popleft() if pending else None  # (pub/sub pushes have no command)
                    if marked is not None:
                        self.dropped.append(marked)
                        _close(client, upstream)  # the reply is lost with the connection
                        return
                    client.sendall(bytes(buffer[:length]))
                    del buffer[:length]
        except OSError:
            pass
        finally:
            _close(client, upstream)

    def close(self) -> None:
        """Stop accepting connections."""
        with contextlib.suppress(OSError):
            self._server.close()


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
