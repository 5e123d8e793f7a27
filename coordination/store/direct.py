"""Commands on a pooled asyncio connection, without redis-py's per-command wrapper (the signal hot path).

``Redis.execute_command`` wraps every command in a retry policy, observability hooks and a release that runs
before the reply is handed back. Each layer is a few coroutine frames; on an idle machine (a signal every few
milliseconds) they cost tens of microseconds between the caller and the socket, and again between the reply and
the caller. A signal pays this twice: once in the emitter before its command leaves, once in the subscriber
before the entry reaches the consumer.

Both functions here send their command on a connection taken from the client's own pool and give it back. Anything
that goes wrong with the connection — dropped, timed out, a demoted Sentinel master — sends the command again
through the client's usual method, whose retry policy and translation into ``StoreUnavailableError`` then apply
as to any other command. Only commands that are safe to send twice come here: a stream read, and scripts that are
idempotent or carry their own reply guard (``scripts.py``).
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# The connection failures after which the command goes again through redis-py's retry policy.
_CONNECTION_FAILURES = (RedisConnectionError, RedisTimeoutError, OSError)

# What _exchange returns when the connection failed (no reply can be this object).
_CONNECTION_FAILED = object()

StreamEntries = list[tuple[str, dict[str, str]]]


async def direct_command(client: Any, *args: Any) -> Any:
    """Run one command and return its reply, as ``await client.execute_command(*args)`` would.

    The reply goes through the client's ``parse_response`` (same decoding, response callbacks and errors).

    Args:
        client: a ``redis.asyncio.Redis`` with a connection pool (a single-connection client goes the usual way).
        *args: the command and its arguments.
    """
    if not client.single_connection_client:
        reply = await _exchange(client, args, raw=False)
        if reply is not _CONNECTION_FAILED:
            return reply
    return await client.execute_command(*args)


async def read_stream(client: Any, key: str, cursor: str, count: int, block_ms: int) -> StreamEntries:
    """``XREAD COUNT count BLOCK block_ms STREAMS key cursor``: the entries after ``cursor`` (``[]`` if none came).

    The entries are read from the reply as it comes (no response callback). The connection goes back to the pool
    before this returns, so a subscription never holds two (giving it back a turn later was measured ~10 µs
    faster, but a consumer that reads again at once then took a second connection, and a loop closed right after
    a delivery was left with a release task pending).
    """
    if not client.single_connection_client:
        args = ("XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", key, cursor)
        reply = await _exchange(client, args, raw=True)
        if reply is not _CONNECTION_FAILED:
            if not reply:
                return []
            # RESP3 answers a map {key: entries}, RESP2 a list [[key, entries]]; an entry is [id, [field, value...]].
            entries = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
            return [(entry_id, dict(zip(flat[::2], flat[1::2], strict=True))) for entry_id, flat in entries]
    # redis-py's reply for one stream: [[key, entries]], or {key: [entries]} from a protocol=3 client.
    reply = await client.xread({key: cursor}, count=count, block=block_ms)
    if not reply:
        return []
    return list(next(iter(reply.values()))[0]) if isinstance(reply, dict) else list(reply[0][1])


async def _exchange(client: Any, args: tuple[Any, ...], *, raw: bool) -> Any:
    """Send ``args`` on a connection of the client's pool and read the reply (parsed unless ``raw``).

    Returns :data:`_CONNECTION_FAILED` when the connection failed on the way (redis-py has closed it; the next user
    reconnects it), for the caller to send the command again through the retry policy. The connection goes back
    to the pool whatever happens.
    """
    pool = client.connection_pool
    connection = await pool.get_connection()
    try:
        await connection.send_command(*args)
        if raw:
            return await connection.read_response()
        return await client.parse_response(connection, args[0])
    except _CONNECTION_FAILURES:
        return _CONNECTION_FAILED
    finally:
        await pool.release(connection)
