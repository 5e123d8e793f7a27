"""Lua scripts stored beside this module as ``lua/*.lua``, called by SHA with a fallback to EVAL."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

KeyArgs = list[str]
Args = list[Any]


class LuaScript:
    """One Lua script; call it with a sync or an asyncio client."""

    def __init__(self, name: str, prelude: tuple[str, ...] = ()) -> None:
        self.name = name
        # Redis has no include: shared Lua (e.g. deps_lib) is prepended to the scripts that use it.
        parts = [_read(part) for part in (*prelude, name)]
        self.source = "\n".join(parts)
        self.sha = hashlib.sha1(self.source.encode("utf-8")).hexdigest()

    def __call__(self, client: redis.Redis, keys: KeyArgs, args: Args) -> Any:
        """Run the script with a blocking client."""
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            # First use on this server (or its script cache was flushed): EVAL also caches it.
            return client.eval(self.source, len(keys), *keys, *args)

    async def run_async(self, client: aioredis.Redis, keys: KeyArgs, args: Args) -> Any:
        """Run the script with an asyncio client."""
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)


def _read(name: str) -> str:
    return resources.files("coordination.store").joinpath(f"lua/{name}.lua").read_text("utf-8")


# Scripts that need the shared dependency functions.
_PRELUDES: dict[str, tuple[str, ...]] = {
    "signal_emit": ("deps_lib",),
    "deps_register": ("deps_lib",),
    "deps_wake": ("deps_lib",),
    "deps_check": ("deps_lib",),
    "deps_settle": ("deps_lib",),
}


@cache
def script(name: str) -> LuaScript:
    """Return the script ``lua/<name>.lua`` (with its prelude; loaded once per process)."""
    return LuaScript(name, _PRELUDES.get(name, ()))


ScriptCall = tuple[LuaScript, KeyArgs, Args]


async def run_atomically_async(client: aioredis.Redis, calls: list[ScriptCall]) -> list[Any]:
    """Run several scripts in one MULTI/EXEC round trip, in order, and return their replies.

    Used where one event is two steps (write a value, then wake whoever waits on it): one round trip instead of
    two, and no other command runs in between.
    """
    for attempt in range(2):
        async with client.pipeline(transaction=True) as pipe:
            for lua, keys, args in calls:
                pipe.evalsha(lua.sha, len(keys), *keys, *args)
            try:
                return list(await pipe.execute())
            except NoScriptError:
                if attempt:
                    raise
        # The server does not know a script yet (first use, or its cache was flushed): load them and retry.
        for lua, _keys, _args in calls:
            await client.script_load(lua.source)
    raise AssertionError("unreachable")


def run_atomically(client: redis.Redis, calls: list[ScriptCall]) -> list[Any]:
    """Blocking :func:`run_atomically_async`."""
    for attempt in range(2):
        pipe = client.pipeline(transaction=True)
        for lua, keys, args in calls:
            pipe.evalsha(lua.sha, len(keys), *keys, *args)
        try:
            return list(pipe.execute())
        except NoScriptError:
            if attempt:
                raise
        for lua, _keys, _args in calls:
            client.script_load(lua.source)
    raise AssertionError("unreachable")
