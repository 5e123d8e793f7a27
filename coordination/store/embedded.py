"""Embedded no-server mode: an in-process fakeredis server over TCP, for demos on machines without Redis.

Other processes (workers, the demo's second process) connect to it like to a real Redis. It is not for
production: it keeps everything in this process's memory and stops with it.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

import redis
from fakeredis import TcpFakeServer

from coordination.store.connection import close_client, probe_client


@dataclass
class EmbeddedRedis:
    """A running embedded server."""

    host: str
    port: int
    _server: object
    _thread: threading.Thread

    def url(self, db: int = 0) -> str:
        """Return the redis:// URL of database ``db``."""
        return f"redis://{self.host}:{self.port}/{db}"

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()  # type: ignore[attr-defined]
        self._server.server_close()  # type: ignore[attr-defined]
        self._thread.join(timeout=5)


def redis_reachable(url: str, timeout: float = 1.0) -> bool:
    """Tell whether a Redis server answers PING at ``url``."""
    try:
        client = probe_client(url, timeout)
        try:
            return bool(client.ping())
        finally:
            close_client(client)
    except (redis.RedisError, OSError, ValueError):
        return False


def start_embedded_redis(host: str = "127.0.0.1", port: int = 0) -> EmbeddedRedis:
    """Start a fakeredis server (with Lua) on ``host:port`` (0 picks a free port) in a daemon thread."""
    if port == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
    server = TcpFakeServer((host, port), server_type="redis")
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="embedded-redis", daemon=True)
    thread.start()
    return EmbeddedRedis(host, port, server, thread)
