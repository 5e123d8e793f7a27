"""Sentinel-managed connections that always reconnect to the *current* master.

redis-py's ``SentinelManagedConnection`` asks the sentinels for the master's address in ``connect()``, but a
command that finds its connection closed (after a ``READONLY`` reply from a demoted master, or a connection the
server killed) reconnects through ``connect_check_health()``, which reuses the address the connection last had:
every retry then lands on the demoted master again, answers ``READONLY`` again, and the command fails once the
retries run out (seen with redis-py 8.1 in ``tests/reliability/test_sentinel_failover.py``). These subclasses ask
the sentinels on that path too, so a retry after a failover reaches the new master.
"""

from __future__ import annotations

import redis.asyncio.sentinel as aiosentinel
import redis.sentinel


class MasterConnection(redis.sentinel.SentinelManagedConnection):
    """A blocking connection to the master the sentinels name at the moment it connects."""

    def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:  # noqa: D102
        if not self.is_connected and self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(check_health=check_health, retry_socket_connect=retry_socket_connect)


class AsyncMasterConnection(aiosentinel.SentinelManagedConnection):
    """The asyncio counterpart of :class:`MasterConnection`."""

    async def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:  # noqa: D102
        if not self.is_connected and self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super().connect_check_health(check_health=check_health, retry_socket_connect=retry_socket_connect)
