"""A TCP relay to a real server that a fault test can cut (drop every connection, refuse new ones), blackhole
(accept and keep connections but forward nothing: a network that drops packets) and restore."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttableProxy:
    """Relays 127.0.0.1:<port> to ``target``; :meth:`cut` or :meth:`blackhole` make the target unreachable through
    it until :meth:`restore`.

    Args:
        target: the real server's ``(host, port)``.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.connections = 0  # connections relayed so far
        self.cuts = 0
        self._blackholed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._server = self._listen(0)
        self.port: int = self._server.getsockname()[1]

    def _listen(self, port: int) -> socket.socket:
        server = socket.create_server(("127.0.0.1", port))  # SO_REUSEADDR: the port can be taken again at once
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return server

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:  # the listener was closed by cut()
                return
            if self._blackholed.is_set():  # accepted, then silence: the client waits for a reply that never comes
                with self._lock:
                    self._open.add(client)
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
                self.connections += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self._blackholed.is_set():  # blackholed: read and dropped, as by a broken network
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(sink)

    def _swallow(self, client: socket.socket) -> None:
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass
        finally:
            self._close(client)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        """Drop every relayed connection and refuse new ones (the client sees ECONNREFUSED)."""
        with contextlib.suppress(OSError):  # (already cut)
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the other thread
        self._server.close()
        with self._lock:
            live = list(self._open)
        for sock in live:
            self._close(sock)
        self.cuts += 1

    def blackhole(self) -> None:
        """Keep every connection open and accept new ones, but forward nothing in either direction from now on.

        Nothing is refused or reset: the client only notices through its own time-outs.
        """
        self._blackholed.set()

    def restore(self) -> None:
        """Relay again, on the same port. After a blackhole, the connections it silenced are closed: the bytes it
        dropped are gone, so those connections could never be used again."""
        if self._blackholed.is_set():
            with self._lock:
                silenced = list(self._open)
            for sock in silenced:
                self._close(sock)
            self._blackholed.clear()
            return
        self._server = self._listen(self.port)

    def close(self) -> None:
        """Stop relaying for good."""
        self.cut()
