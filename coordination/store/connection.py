"""Redis clients, opened lazily per process (after fork) and per event loop, never at import.

A URL becomes a client here and nowhere else: ``redis://``, ``rediss://`` and ``unix://`` through redis-py's
``from_url``; a Sentinel URL (``sentinel://host:26379;sentinel://host2:26379/2``, see :mod:`config.urls`) through
``redis.sentinel.Sentinel(...).master_for(COORD_REDIS_SENTINEL_MASTER)``. A Sentinel-managed client asks the
sentinels for the master's address whenever it (re)connects (:mod:`coordination.store.sentinel`), and turns a
``READONLY`` reply (it is talking to a master that was demoted to a replica) into a ``ConnectionError``: the retry
policy below reconnects to the new master and sends the command again, which is safe because a replica executed
nothing.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as aiosentinel
import redis.sentinel
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.connection import HiredisRespSerializer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.utils import HIREDIS_AVAILABLE

if HIREDIS_AVAILABLE:  # a dependency (redis[hiredis]); without it StoreConnection is not used (_async_options)
    import hiredis

from config.settings import get_settings
from config.urls import SentinelUrl, is_sentinel, mask_password, parse_sentinel_url
from coordination.errors import StoreUnavailableError
from coordination.store.sentinel import AsyncMasterConnection, MasterConnection

_lock = threading.Lock()
_sync_clients: dict[tuple[int, str], redis.Redis] = {}
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aioredis.Redis]] = (
    weakref.WeakKeyDictionary()
)

_CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    # Short connect timeout: an unreachable store should fail fast with a clear error, not hang.
    "socket_connect_timeout": 5,
    "health_check_interval": 30,
    "retry_on_timeout": True,
}


#: Every way the store can fail a command: unreachable (after the retries), or refusing it (out of memory,
#: READONLY, MISCONF, ... are redis-py ResponseErrors). Callers that must survive the store catch these.
STORE_ERRORS: tuple[type[Exception], ...] = (StoreUnavailableError, redis.RedisError)


def _unavailable(url: str, error: Exception) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"Redis at {mask_password(url)} could not be reached ({error}); check that it runs and the COORD_*_URL "
        "settings (COORD_REDIS_URL for the coordination store)"
    )


class StoreRetry(Retry):
    """redis-py's retry policy, then the one translation of a store that stays unreachable.

    A dropped connection is re-opened and the command sent again (a few times, short back-off); when the attempts
    are spent, the connection or time-out error becomes :class:`~coordination.errors.StoreUnavailableError`,
    naming the server. Every command, pipeline and subscription of a client goes through here, so no other module
    translates Redis connection errors.
    """

    def __init__(self, url: str) -> None:
        super().__init__(ExponentialBackoff(cap=1.0, base=0.05), 5)
        self.url = url

    def call_with_retry(self, do: Any, fail: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``do`` with redis-py's retries; raise StoreUnavailableError when they are spent."""
        try:
            return super().call_with_retry(do, fail, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError) as error:
            raise _unavailable(self.url, error) from error


class AsyncStoreRetry(AsyncRetry):
    """:class:`StoreRetry` for asyncio clients."""

    def __init__(self, url: str) -> None:
        super().__init__(ExponentialBackoff(cap=1.0, base=0.05), 5)
        self.url = url

    async def call_with_retry(self, do: Any, fail: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``do`` with redis-py's retries; raise StoreUnavailableError when they are spent."""
        try:
            return await super().call_with_retry(do, fail, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError) as error:
            raise _unavailable(self.url, error) from error


def _options(url: str) -> dict[str, Any]:
    # A dropped connection is re-opened and the command sent again, a few times with a short back-off, so a
    # Redis restart or a killed connection does not fail the operation in flight (StoreRetry). The name lets an
    # operator (and the fault tests) find this deployment's connections in CLIENT LIST.
    return {
        **_CLIENT_OPTIONS,
        "client_name": f"coord-{get_settings().namespace}",
        "retry": StoreRetry(url),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


#: asyncio's default high-water mark of a transport's write buffer: below it, ``drain()`` returns at once.
_WRITE_HIGH_WATER = 64 * 1024


def _unblocking(command: Any) -> bool:
    """Tell whether writing ``command`` on an idle connection cannot make ``drain()`` wait (it is small)."""
    if isinstance(command, bytes | str):
        return len(command) < _WRITE_HIGH_WATER
    if isinstance(command, list | tuple):
        return sum(len(part) for part in command) < _WRITE_HIGH_WATER
    return False


class StoreConnection(aioredis.Connection):
    """redis.asyncio's TCP connection with changes that make every asyncio command cheaper, same bytes sent.

    * Commands are packed with hiredis (redis-py's own ``HiredisRespSerializer``), as redis-py's blocking
      connection does: about 4 µs instead of 25 µs for a signal's EVALSHA.
    * The write is bounded by ``asyncio.timeout`` rather than ``asyncio.wait_for``. On Python 3.11 ``wait_for``
      runs the write in a task of its own (one more turn of the event loop per command) and swallows a
      cancellation that arrives as the write completes, so a cancelled caller went on into the read. Same
      timeout (``socket_timeout``), same error (``TimeoutError("Timeout writing to socket")``).
    * A command smaller than the transport's high-water mark is written without that bound: a connection serves
      one command at a time and its previous reply was read, so its write buffer is empty and ``drain()`` cannot
      wait. (The bound costs a timer per command, tens of microseconds on an idle machine, on the way of every
      signal.) The health check's PING, when due, still runs under the socket timeout.
    """

    # Version-tolerant ignores: redis-py 8 annotates its sentinel classes but not its serializers; 5.x neither.
    _packer = HiredisRespSerializer()  # type: ignore[no-untyped-call, unused-ignore]

    def pack_command(self, *args: Any) -> list[bytes]:
        """Pack one command into the Redis protocol (pipelines pack each of theirs through this too)."""
        name = args[0]
        if type(name) is str and " " not in name:
            # hiredis straight away: the serializer's pass over every argument (bytearray to bytes) is what it
            # refuses with TypeError, and then the serializer does it (or raises redis-py's DataError).
            try:
                return [hiredis.pack_command(args)]
            except TypeError:
                pass
        packed: list[bytes] = self._packer.pack(*args)
        return packed

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        """Send a packed command: redis-py's send (connecting, health check, errors), its write bounded here."""
        timeout = self.socket_timeout
        if not timeout:
            await super().send_packed_command(command, check_health)
            return
        if check_health and self.is_connected:
            await self.check_health()  # type: ignore[no-untyped-call, unused-ignore]  # under the socket timeout, as redis-py runs it
            check_health = False
        # Without a socket timeout redis-py writes directly (no wait_for); the bound is the asyncio.timeout below.
        # A connection serves one command at a time, so no other command sees the attribute meanwhile.
        self.socket_timeout = None
        try:
            if _unblocking(command):
                await super().send_packed_command(command, check_health)
            else:
                async with asyncio.timeout(timeout):
                    await super().send_packed_command(command, check_health)
        except TimeoutError as error:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from error
        finally:
            self.socket_timeout = timeout


def _async_options(url: str) -> dict[str, Any]:
    options = {**_options(url), "retry": AsyncStoreRetry(url)}
    if HIREDIS_AVAILABLE and urlsplit(url).scheme == "redis":  # plain TCP only: TLS and unix sockets keep theirs
        options["connection_class"] = StoreConnection
    return options


def store_url() -> str:
    """Return the coordination store URL from the settings (the real one, password included: never log it)."""
    return get_settings().redis_url.get_secret_value()


def _sentinel_options(overrides: dict[str, Any]) -> dict[str, Any]:
    # The sentinels get the same time-outs as the master, and their own password (COORD_REDIS_SENTINEL_PASSWORD):
    # the URL's password is the master's, as in kombu and Celery.
    password = get_settings().redis_sentinel_password
    options: dict[str, Any] = {"socket_connect_timeout": _CLIENT_OPTIONS["socket_connect_timeout"], "socket_timeout": 5}
    options.update({key: value for key, value in overrides.items() if key.startswith("socket_")})
    if password is not None:
        options["password"] = password.get_secret_value()
    return options


def _master_options(parsed: SentinelUrl) -> dict[str, Any]:
    options: dict[str, Any] = {"db": parsed.db}
    if parsed.username is not None:
        options["username"] = parsed.username
    if parsed.password is not None:
        options["password"] = parsed.password
    return options


def _master_name() -> str:
    name = get_settings().redis_sentinel_master
    if name is None:  # the settings refuse a Sentinel URL without it; a URL passed in by a caller may still come here
        raise ValueError("COORD_REDIS_SENTINEL_MASTER must name the master to use a sentinel:// URL")
    return name


def new_sync_client(url: str, **overrides: Any) -> Any:
    """A new blocking client for ``url`` (any form the settings accept); the caller closes it.

    Args:
        url: a ``redis://``, ``rediss://``, ``unix://`` or Sentinel URL.
        **overrides: client options that replace the defaults (e.g. ``socket_connect_timeout`` for a probe).
    """
    options = {**_options(url), **overrides}
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    parsed = parse_sentinel_url(url)
    # redis-py's sentinel module has no annotations.
    sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call, unused-ignore]
        list(parsed.sentinels), sentinel_kwargs=_sentinel_options(overrides)
    )
    return sentinel.master_for(  # type: ignore[no-untyped-call, unused-ignore]
        _master_name(), connection_class=MasterConnection, **options, **_master_options(parsed)
    )


def probe_client(url: str, timeout: float) -> Any:
    """A new blocking client for a health probe: every wait bounded by ``timeout``, no retries; the caller closes it."""
    return new_sync_client(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0), retry_on_error=[]
    )


def _new_async_client(url: str) -> Any:
    options = _async_options(url)
    if not is_sentinel(url):
        return aioredis.Redis.from_url(url, **options)
    parsed = parse_sentinel_url(url)
    sentinel = aiosentinel.Sentinel(  # type: ignore[no-untyped-call, unused-ignore]
        list(parsed.sentinels), sentinel_kwargs=_sentinel_options({})
    )
    return sentinel.master_for(
        _master_name(), connection_class=AsyncMasterConnection, **options, **_master_options(parsed)
    )


def close_client(client: Any) -> None:
    """Close a blocking client and, for a Sentinel-managed one, its connections to the sentinels."""
    client.close()
    sentinel = getattr(client.connection_pool, "sentinel_manager", None)
    if sentinel is not None:
        sentinel.close()


# The clients are typed ``Any``: with decode_responses=True every reply is ``str``, which redis-py's annotations
# (``bytes | str | None`` unions on every command) cannot express; callers know the shape of each reply.
def sync_client(url: str | None = None) -> Any:
    """Return this process's blocking client for ``url`` (default: the coordination store).

    A client created before ``fork()`` is never reused in the child: the cache is keyed by process id.
    """
    key = (os.getpid(), url or store_url())
    client = _sync_clients.get(key)
    if client is None:
        with _lock:
            client = _sync_clients.get(key)
            if client is None:
                client = new_sync_client(key[1])
                _sync_clients[key] = client
    return client


def async_client(url: str | None = None) -> Any:
    """Return the asyncio client for ``url`` bound to the running event loop.

    asyncio connections belong to one loop, so each loop gets its own client; it is dropped with the loop.
    """
    loop = asyncio.get_running_loop()
    target = url or store_url()
    per_loop = _async_clients.get(loop)
    if per_loop is None:
        per_loop = {}
        _async_clients[loop] = per_loop
    client = per_loop.get(target)
    if client is None:
        client = _new_async_client(target)
        per_loop[target] = client
    return client


def reset_clients() -> None:
    """Forget every cached client (after the settings changed, in tests and the CLI)."""
    with _lock:
        for client in _sync_clients.values():
            close_client(client)
        _sync_clients.clear()
    _async_clients.clear()


def cancellation_requests() -> int:
    """Return how many cancellations of the running task are pending (see :func:`raise_lost_cancellation`)."""
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


def raise_lost_cancellation(baseline: int) -> None:
    """Raise ``CancelledError`` if the running task was cancelled since ``baseline`` but is still running.

    On Python 3.11, ``asyncio.wait_for`` (which redis-py uses around socket writes) swallows a cancellation that
    arrives as its inner operation completes. Loops that await Redis commands call this after each command, so
    a cancelled waiter stops instead of waiting out its time-out.
    """
    if cancellation_requests() > baseline:
        raise asyncio.CancelledError
