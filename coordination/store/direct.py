"""One asyncio command on a pooled connection, without redis-py's per-command wrapper (the signal hot path).

``Redis.execute_command`` wraps every command in a retry policy, observability hooks and a release that runs
before the reply is handed back. Each layer is a few coroutine frames; on an idle machine (a signal every few
milliseconds) they cost tens of microseconds between the caller and the socket, and again between the reply and
the caller. A signal pays this twice: once in the emitter before its command leaves, once in the subscriber
before the entry reaches the consumer.

:func:`direct_command` sends the command on a connection taken from the client's own pool, reads the reply
through the client's own ``parse_response`` (same decoding, same response callbacks, same errors) and gives the
connection back. Anything that goes wrong with the connection — dropped, timed out, a demoted Sentinel master —
sends the command again through ``execute_command``, whose retry policy and translation into
``StoreUnavailableError`` then apply as to any other command. Only commands that are safe to send twice may come
here: reads, and scripts that are idempotent or carry their own reply guard (``scripts.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# The connection failures after which the command goes again through redis-py's retry policy.
_CONNECTION_FAILURES = (RedisConnectionError, RedisTimeoutError, OSError)
# Releases scheduled by release_later, kept referenced until they ran.
_releases: set[asyncio.Task[None]] = set()


async def direct_command(client: Any, *args: Any, release_later: bool = False, **options: Any) -> Any:
    """Run one command and return its parsed reply, as ``await client.execute_command(*args, **options)`` would.

    Args:
        client: a ``redis.asyncio.Redis`` with a connection pool (a single-connection client goes the usual way).
        *args: the command and its arguments.
        release_later: give the connection back at the event loop's next turn instead of before returning: the
            caller's code that runs next (a subscriber handing a signal to its consumer) is not held up by the
            pool's bookkeeping. A cancelled or failed command gives it back at once.
        **options: response-callback options, as for ``execute_command``.
    """
    if client.single_connection_client:
        return await client.execute_command(*args, **options)
    pool = client.connection_pool
    connection = await pool.get_connection()
    try:
        await connection.send_command(*args)
        reply = await client.parse_response(connection, args[0], **options)
    except _CONNECTION_FAILURES:
        # The connection was closed on the way (redis-py disconnects on a failed read or write); the next user
        # reconnects it. The retry policy takes the command from here.
        await pool.release(connection)
        return await client.execute_command(*args, **options)
    except BaseException:
        await pool.release(connection)
        raise
    if release_later:
        task = asyncio.get_running_loop().create_task(pool.release(connection))
        _releases.add(task)
        task.add_done_callback(_releases.discard)
    else:
        await pool.release(connection)
    return reply
