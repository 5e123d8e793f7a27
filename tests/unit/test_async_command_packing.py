"""The asyncio connection packs commands with hiredis: the same bytes as redis-py's own Python packer."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import DataError

from coordination.store.connection import StoreConnection, _async_options

COMMANDS: list[tuple[Any, ...]] = [
    ("PING",),
    ("EVALSHA", "a" * 40, 2, "key:{c1}:signals", "key:{c1}:ids", 1796301645408, 0.25, "é ü 🚀", b"raw\x00bytes"),
    ("XADD", "stream", "MAXLEN", "~", 10000, "*", "data", '{"t0": 1.5, "text": "x' + "y" * 70_000 + '"}'),
    ("CONFIG GET", "maxmemory"),  # a command name with a space is split, as redis-py does
    ("SET", "k", bytearray(b"array"), "GET"),  # hiredis refuses a bytearray: the serializer converts it
    ("SET", memoryview(b"view-key"), memoryview(b"value")),
    ("INCRBYFLOAT", "k", 2**70),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: str(command[0]))
def test_hiredis_packing_sends_the_same_bytes_as_redis_py(command: tuple[Any, ...]) -> None:
    python_packed = b"".join(aioredis.Connection().pack_command(*command))
    hiredis_packed = b"".join(StoreConnection().pack_command(*command))

    assert hiredis_packed == python_packed


@pytest.mark.parametrize("value", [None, True, object()], ids=["None", "bool", "object"])
def test_values_redis_cannot_take_are_refused_as_redis_py_refuses_them(value: object) -> None:
    with pytest.raises(DataError):
        StoreConnection().pack_command("SET", "k", value)


def test_pipelines_are_packed_the_same_way() -> None:
    commands = [("MULTI",), *COMMANDS[:2], ("EXEC",)]

    assert b"".join(StoreConnection().pack_commands(commands)) == b"".join(
        aioredis.Connection().pack_commands(commands)
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/2", StoreConnection),
        ("rediss://127.0.0.1:6379/2", None),  # TLS keeps redis-py's SSL connection
        ("unix:///tmp/redis.sock", None),
    ],
)
def test_only_plain_tcp_connections_are_replaced(url: str, expected: type | None) -> None:
    assert _async_options(url).get("connection_class") is expected
