"""A private ``redis-server`` a fault test starts, fills, restarts or kills without touching the shared one."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.conftest import IN_CI


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_redis_server() -> str:
    """The ``redis-server`` binary; skips the test locally when it is missing, fails when ``CI`` is set."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if IN_CI:
            pytest.fail(message + " -- required when CI is set", pytrace=False)
        pytest.skip(message)
    return binary


class PrivateRedis:
    """One ``redis-server`` process on a free port, its data and log in ``directory``.

    Args:
        directory: where the server keeps its files (AOF, log).
        options: extra ``--name value`` options, e.g. ``("--maxmemory", "20mb")``.
    """

    def __init__(self, directory: Path, *options: str) -> None:
        self.binary = require_redis_server()
        self.directory = directory
        self.options = options
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def url(self, db: int = 0) -> str:
        """The ``redis://`` URL of database ``db``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        """A plain client (the caller closes it)."""
        return redis.Redis.from_url(self.url(db), decode_responses=True)

    def start(self) -> PrivateRedis:
        """Start the server (persistence off unless ``options`` turn it on) and wait until it answers."""
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--logfile",
            str(self.directory / "redis.log"),
            *self.options,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                with self.client() as client:
                    client.ping()
                    if client.info("persistence").get("loading") == 0:
                        return self
            except redis.RedisError:
                pass
            if self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise AssertionError(f"redis-server exited with {self.process.returncode}:\n{log}")
            if time.monotonic() > deadline:
                raise AssertionError("redis-server did not answer within 15 s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server (nothing is saved on the way out) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Kill the server and start it again on the same port with the same files."""
        self.kill()
        self.start()


@contextmanager
def store_on(server: PrivateRedis, db: int = 2) -> Iterator[str]:
    """Point this process's coordination store at ``server`` meanwhile; yields the URL.

    Worker and beat processes started meanwhile inherit it (``running_services`` copies the environment).
    """
    from config.settings import reload_settings
    from coordination.store.connection import reset_clients

    url = server.url(db)
    saved = os.environ.get("COORD_REDIS_URL")
    os.environ["COORD_REDIS_URL"] = url
    reload_settings()
    reset_clients()
    try:
        yield url
    finally:
        if saved is None:
            os.environ.pop("COORD_REDIS_URL", None)
        else:
            os.environ["COORD_REDIS_URL"] = saved
        reload_settings()
        reset_clients()
