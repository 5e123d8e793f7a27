"""Lua scripts stored beside this module as ``lua/*.lua``, run through redis-py's ``Script`` objects.

redis-py's ``Script`` calls ``EVALSHA``, loads the script on ``NOSCRIPT`` and works inside pipelines, so nothing
here hand-rolls that. What this module adds:

* **Preludes.** Redis has no ``require``: shared Lua (``keys_lib``, ``deps_lib``, ...) is prepended to the
  scripts that use it.
* **Reply guards (caller tokens).** redis-py resends a command whose connection dropped before the reply came
  back (``Retry`` on ``ConnectionError``/``TimeoutError``). For a script that decides "the first caller wins", a
  resend after a lost reply would be told "someone else already did it" — about its own success. Every guarded
  script therefore runs inside a wrapper that stores its reply under a per-call token (``<tag>:reply:<token>``,
  expiring after :data:`REPLY_TTL_MS`) in the same atomic step as its effects, and answers a resend carrying the
  same token with that stored reply. The token is generated once per call, before the first send, so the client's
  own resends carry it. The reply key is derived from the script's first key (or, for scripts that build their keys
  from prefixes, from the namespace prefix passed as ``ARGV[1]``): it shares that key's hash tag.

Script replies are always Lua tables or strings (never nil), so a stored reply decodes to the same shape.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from coordination.ids import new_uuid4
from coordination.store.direct import direct_command

KeyArgs = list[str]
Args = list[Any]

#: How long a guarded script's reply is kept for a resend of the same call (ms). A resend happens within the
#: client's retry window (a few seconds of back-off plus connect and socket time-outs), far below this.
REPLY_TTL_MS = 60_000

# Shared Lua prepended to the scripts that use it (Redis has no include). Order matters: later parts use earlier.
_PRELUDES: dict[str, tuple[str, ...]] = {
    "keys_probe": ("keys_lib",),
    "deps_rearm": ("keys_lib",),
    "lock_renew": (),
    "signal_append": ("keys_lib", "signal_lib"),
    # limits_lib comes before agent_lib wherever agent_lib is used (agent_lib releases the limits it closes).
    **dict.fromkeys(
        ("agent_start", "agent_renew", "agents_sent"),
        ("keys_lib", "limits_lib", "signal_lib", "map_lib", "agent_lib"),
    ),
    **dict.fromkeys(
        ("agent_recover", "coordination_end"), ("keys_lib", "limits_lib", "signal_lib", "map_lib", "agent_lib")
    ),
    "limits_use_tokens": ("keys_lib", "limits_lib"),
    "agent_progress": ("keys_lib", "signal_lib"),
    # Re-running a finished coordination re-arms dependencies (deps_lib).
    "coordination_retry": ("keys_lib", "limits_lib", "signal_lib", "map_lib", "agent_lib", "deps_lib"),
    **dict.fromkeys(
        (
            "signal_emit",
            "deps_register",
            "deps_register_many",
            "deps_wake",
            "deps_check",
            "deps_settle",
            "deps_release",
            "condition_set",
            "approval_verdict",
            "pipeline_submit",
            "agent_settle",
            "map_expand",
        ),
        ("keys_lib", "limits_lib", "signal_lib", "map_lib", "agent_lib", "deps_lib"),
    ),
}

# Scripts that only read, or are idempotent by construction, run without a reply guard.
_UNGUARDED = frozenset(
    {
        "lock_release",
        "lock_renew",
        "keys_probe",
        "agent_renew",
        "agents_sent",
        "state_init",
        "signal_append",
    }
)

_WRAPPER_HEAD = """
local __reply_key = KEYS[#KEYS]
local __stored = redis.call('GET', __reply_key)
if __stored then return cjson.decode(__stored) end
local __reply = (function()
"""
_WRAPPER_TAIL = """
end)()
redis.call('SET', __reply_key, cjson.encode(__reply), 'PX', {ttl})
return __reply
"""


def reply_key(anchor: str, token: str) -> str:
    """The key a guarded script stores its reply under: ``<anchor up to its hash tag>:reply:<token>``.

    ``anchor`` is a key (or key prefix) carrying a hash tag, e.g. ``root:ns:coord:{cid}:meta`` or ``root:{ns}``,
    so the reply key lands in the same cluster slot as the keys the script changes. It is the name
    ``Keys.reply``/``CoordinationKeys.reply`` build (checked by the tests).
    """
    end = anchor.find("}")
    if end < 0 or "{" not in anchor[:end]:
        return f"{anchor}:reply:{token}"  # an untagged key (not one of ours): the reply lands beside it
    return f"{anchor[: end + 1]}:reply:{token}"


class LuaScript:
    """One Lua script; call it with a blocking client (or pipeline) or, through :meth:`run_async`, an asyncio one."""

    def __init__(self, name: str, prelude: tuple[str, ...] = (), guarded: bool = True) -> None:
        self.name = name
        self.guarded = guarded
        shared = "\n".join(_read(part) for part in prelude)
        body = _read(name)
        if guarded:
            tail = _WRAPPER_TAIL.replace("{ttl}", str(REPLY_TTL_MS))
            self.source = f"{shared}\n{_WRAPPER_HEAD}{body}{tail}"
        else:
            self.source = f"{shared}\n{body}"
        self.sha = hashlib.sha1(self.source.encode("utf-8")).hexdigest()
        self._sync: Script | None = None

    def _keys(self, keys: KeyArgs, args: Args) -> KeyArgs:
        if not self.guarded:
            return keys
        anchor = keys[0] if keys else str(args[0])
        return [*keys, reply_key(anchor, new_uuid4())]

    def __call__(self, client: redis.Redis | Any, keys: KeyArgs, args: Args) -> Any:
        """Run the script with a blocking client, or queue it on a pipeline (the reply comes with ``execute()``)."""
        if self._sync is None:
            # The registered client only supplies the encoder; every call names the client it runs on.
            self._sync = Script(client, self.source)
        return self._sync(keys=self._keys(keys, args), args=args, client=client)

    async def run_async(self, client: aioredis.Redis, keys: KeyArgs, args: Args) -> Any:
        """Run the script with an asyncio client (not a pipeline: use :func:`run_atomically_async` for several).

        ``EVALSHA`` goes out directly, as redis-py's ``AsyncScript`` sends it, without that wrapper's per-call
        work, and on a pooled connection without ``execute_command``'s (:mod:`~coordination.store.direct`; every
        script here is safe to send twice): signals and state writes run this on every call, and what runs before
        the command is sent delays every subscriber. A server that does not hold the script (a restart,
        ``SCRIPT FLUSH``) gets it loaded and the call made once more, as ``AsyncScript`` does.
        """
        full = self._keys(keys, args)
        try:
            return await direct_command(client, "EVALSHA", self.sha, len(full), *full, *args)
        except NoScriptError:
            await client.script_load(self.source)
            return await direct_command(client, "EVALSHA", self.sha, len(full), *full, *args)


def _read(name: str) -> str:
    return resources.files("coordination.store").joinpath(f"lua/{name}.lua").read_text("utf-8")


@cache
def script(name: str) -> LuaScript:
    """Return the script ``lua/<name>.lua`` (with its prelude and reply guard; built once per process)."""
    return LuaScript(name, _PRELUDES.get(name, ()), guarded=name not in _UNGUARDED)


ScriptCall = tuple[LuaScript, KeyArgs, Args]


# Which scripts each client's server is known to hold (cleared when the server answers NOSCRIPT).
_loaded: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def _missing(client: Any, calls: list[ScriptCall], preload: Sequence[LuaScript]) -> list[LuaScript]:
    known = _loaded.setdefault(client, set())
    # script() builds each script once, so the same one named twice is the same object.
    return [lua for lua in dict.fromkeys((*(call[0] for call in calls), *preload)) if lua.sha not in known]


def _check(client: Any, replies: list[Any]) -> list[Any] | None:
    """The replies, or None when the server had lost our scripts (run again after loading them)."""
    if any(isinstance(reply, NoScriptError) for reply in replies):
        _loaded.pop(client, None)
        return None
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


async def run_atomically_async(
    client: aioredis.Redis, calls: list[ScriptCall], preload: Sequence[LuaScript] = ()
) -> list[Any]:
    """Run scripts in one round trip, in order (several in MULTI/EXEC; one alone is atomic), return their replies.

    Used where one event is several steps (write a value, then wake whoever waits on it; register a list of
    dependencies): one round trip, and no other command runs in between. redis-py's ``Script`` in a pipeline asks
    the server ``SCRIPT EXISTS`` before every ``execute()`` (a round trip more); instead the scripts are loaded once
    per client. A server that lost them (a restart, ``SCRIPT FLUSH``) lost all of them, so every call of the
    transaction fails with NOSCRIPT and none has run: they are loaded again and the transaction runs once more.

    ``preload`` names scripts the caller will need soon (a component's other scripts): loaded in the same round
    trip as the missing ones, so a process pays the server's compiling of them on its first call, not on each
    kind of call's first.
    """
    for _ in range(2):
        missing = _missing(client, calls, preload)
        if missing:  # all in one round trip (a process's first call of a batch of new scripts)
            async with client.pipeline(transaction=False) as loading:
                for lua in missing:
                    loading.script_load(lua.source)
                await loading.execute()
        _loaded[client].update(lua.sha for lua in missing)
        if len(calls) == 1:  # atomic alone: run_async sends it without a pipeline's per-call work
            lua, keys, args = calls[0]
            return [await lua.run_async(client, keys, args)]
        async with client.pipeline(transaction=True) as pipe:
            for lua, keys, args in calls:
                full = lua._keys(keys, args)
                pipe.evalsha(lua.sha, len(full), *full, *args)
            replies = _check(client, list(await pipe.execute(raise_on_error=False)))
        if replies is not None:
            return replies
    raise NoScriptError("the server dropped the scripts twice while they were being run")


def run_atomically(client: redis.Redis, calls: list[ScriptCall]) -> list[Any]:
    """Blocking :func:`run_atomically_async`."""
    for _ in range(2):
        missing = _missing(client, calls, ())
        if missing:
            with client.pipeline(transaction=False) as loading:
                for lua in missing:
                    loading.script_load(lua.source)
                loading.execute()
        _loaded[client].update(lua.sha for lua in missing)
        pipe = client.pipeline(transaction=len(calls) > 1)
        for lua, keys, args in calls:
            full = lua._keys(keys, args)
            pipe.evalsha(lua.sha, len(full), *full, *args)
        replies = _check(client, list(pipe.execute(raise_on_error=False)))
        if replies is not None:
            return replies
    raise NoScriptError("the server dropped the scripts twice while they were being run")
