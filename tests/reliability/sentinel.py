"""A private Redis Sentinel deployment for fault tests: a primary, one replica and three sentinels on free ports."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

MASTER_NAME = "coord-primary"
# Quick failure detection for a test; production keeps the defaults (30 s) or a few seconds.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def binaries_missing() -> str | None:
    """Which of the needed binaries is missing (None when all are there)."""
    for binary in ("redis-server", "redis-sentinel"):
        if shutil.which(binary) is None:
            return binary
    return None


class SentinelCluster:
    """Starts and stops the processes; tells where the master is."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}

    def _start(self, name: str, command: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 (the process writes it until it stops)
        self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()

    def _redis(self, name: str, *extra: str) -> None:
        port = self.ports[name] = free_port()
        directory = self.workdir / name
        directory.mkdir()
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
        self._start(name, [*command, "--save", "", "--appendonly", "no", *extra])

    def start(self) -> None:
        """Start the primary, its replica and three sentinels; return once the sentinels know all of them."""
        self._redis("primary")
        self._wait_ping(self.ports["primary"])
        self._redis("replica", "--replicaof", "127.0.0.1", str(self.ports["primary"]))
        for number in (1, 2, 3):
            name = f"sentinel{number}"
            port = self.ports[name] = free_port()
            config = self.workdir / f"{name}.conf"  # a sentinel rewrites its own config file: one each
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.ports['primary']} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n"
            )
            self._start(name, ["redis-sentinel", str(config)])
        self._wait_until_ready()

    def sentinel_url(self, db: int) -> str:
        """kombu's form: every sentinel, ';'-separated; the database on the first."""
        names = ("sentinel1", "sentinel2", "sentinel3")
        return ";".join(
            f"sentinel://127.0.0.1:{self.ports[name]}" + (f"/{db}" if index == 0 else "")
            for index, name in enumerate(names)
        )

    def sentinel_client(self, number: int) -> redis.Redis:
        """A client of sentinel ``number`` (1 to 3)."""
        return redis.Redis(port=self.ports[f"sentinel{number}"], socket_timeout=2, decode_responses=True)

    def wait_until_replica(self, port: int, timeout: float = 30.0) -> None:
        """Wait until the server on ``port`` runs as a replica."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                client = redis.Redis(port=port, socket_timeout=1, decode_responses=True)
                role = client.execute_command("ROLE")[0]
                client.close()
                if role == "slave":
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server on port {port} did not become a replica within {timeout:g} s")

    def master_port(self) -> int:
        """The master's port as the first sentinel that answers sees it."""
        for number in (1, 2, 3):
            try:
                client = redis.Redis(port=self.ports[f"sentinel{number}"], socket_timeout=1, decode_responses=True)
                _host, port = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                client.close()
                return int(port)
            except (redis.RedisError, TypeError):
                continue
        raise AssertionError("no sentinel answers")

    def kill_primary(self) -> float:
        """SIGKILL the current master; return the time (monotonic) it was killed."""
        port = self.master_port()
        name = next(name for name, number in self.ports.items() if number == port)
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait(timeout=10)
        return time.monotonic()

    def wait_for_new_master(self, old_port: int, timeout: float = 30.0) -> int:
        """Wait until the sentinels promoted another server and it accepts writes; return its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.master_port()
            if port != old_port:
                try:
                    client = redis.Redis(port=port, socket_timeout=1)
                    client.set("failover-probe", "1")
                    client.close()
                    return port
                except redis.RedisError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"no new master within {timeout:g} s")

    def _wait_ping(self, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                client = redis.Redis(port=port, socket_timeout=1)
                client.ping()
                client.close()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError(f"nothing answers on port {port}")

    def _wait_until_ready(self, timeout: float = 30.0) -> None:
        """Every sentinel sees the replica (in sync) and the two other sentinels: a failover can happen."""
        deadline = time.monotonic() + timeout
        ready: set[str] = set()
        while time.monotonic() < deadline and len(ready) < 3:
            for number in (1, 2, 3):
                name = f"sentinel{number}"
                try:
                    client = redis.Redis(port=self.ports[name], socket_timeout=1, decode_responses=True)
                    replicas = client.sentinel_slaves(MASTER_NAME)
                    others = client.sentinel_sentinels(MASTER_NAME)
                    client.close()
                except redis.RedisError:
                    continue
                synced = [replica for replica in replicas if replica.get("master-link-status") == "ok"]
                if synced and len(others) >= 2:
                    ready.add(name)
            time.sleep(0.1)
        if len(ready) < 3:
            raise AssertionError(f"the sentinels were not ready within {timeout:g} s (ready: {sorted(ready)})")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
