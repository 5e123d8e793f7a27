"""The coordination store: Redis connections, key names and Lua scripts.

This is the only package that talks to Redis directly; components call it through small functions.
"""

from coordination.store.connection import async_client, sync_client
from coordination.store.keys import Keys

__all__ = ["Keys", "async_client", "sync_client"]
