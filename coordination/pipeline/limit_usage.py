"""Per-key limits at work: deferring an attempt that is over a limit, charging tokens, reading each key's use.

Admission under the limits happens in ``agent_start.lua`` (``limits_lib.lua``), in the same round trip that
admits the delivery; an attempt over a limit comes back ``deferred`` with how long to wait, and the worker sends
the same message again after that (its attempt number unchanged). This module computes that countdown, charges
``run.use_tokens(n)`` and reads what ``coord limits`` shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from coordination.rate_limits import check_token_count
from coordination.store.connection import sync_client
from coordination.store.keys import Keys
from coordination.store.scripts import script

#: Longest countdown of one deferral (s): a waiter over a long limit (``N/h``) looks again at least this often,
#: so no message waits in the broker for long (a long countdown is redelivered after the visibility timeout).
MAX_DEFER_SECONDS = 30.0
#: Jitter of a concurrency back-off: the script's back-off (150 ms per turn of the slots ahead of the waiter, at
#: most 3 s) times a factor drawn from this range, so waiters do not all come back at once.
CONCURRENCY_JITTER = (0.7, 1.6)
#: Jitter added to a rate or token wait (s), so waiters due at the same moment do not arrive together.
RATE_JITTER_SECONDS = 0.05


@dataclass(frozen=True)
class Deferral:
    """Why an attempt was deferred and when its message is sent again.

    Attributes:
        key: the limit key that holds it back the longest.
        kind: ``concurrency``, ``rate`` or ``tokens``.
        countdown: seconds until the message is delivered again.
    """

    key: str
    kind: str
    countdown: float

    @classmethod
    def parse(cls, detail: str) -> Deferral:
        """From ``agent_start.lua``'s ``wait_ms/kind/key`` (the key may hold ``:``, never ``/``)."""
        wait_ms, kind, key = detail.split("/", 2)
        seconds = int(float(wait_ms)) / 1000
        if kind == "concurrency":
            countdown = seconds * random.uniform(*CONCURRENCY_JITTER)
        else:
            countdown = seconds + random.uniform(0, RATE_JITTER_SECONDS)
        return cls(key, kind, min(countdown, MAX_DEFER_SECONDS))

    def describe(self) -> str:
        """``waiting on limit llm:gpt-x (concurrency); again in 0.31 s``."""
        return f"waiting on limit {self.key} ({self.kind}); again in {self.countdown:.2f} s"


def use_tokens(keys: Keys, coordination_id: str, agent_id: str, tokens: int, now_ms: int) -> list[str]:
    """Charge ``tokens`` to the token limits of one agent's limit keys; return the keys whose token limit it charged.

    Raises:
        InvalidInputError: ``tokens`` is not a whole number from 1 to the bound (field ``tokens``).
    """
    count = check_token_count(tokens)
    reply = script("limits_use_tokens")(
        sync_client(), [], [keys.namespace_prefix, keys.coordination_prefix, now_ms, coordination_id, agent_id, count]
    )
    return [str(key) for key in reply]


@dataclass(frozen=True)
class LimitUse:
    """One limit key's use now (``coord limits``).

    Attributes:
        key: the limit key.
        concurrency: the declared concurrency (None: not limited), and ``running`` attempts holding a slot.
        rate: the declared rate (``"60/m"``), and ``started`` attempts within its current window.
        tokens: the declared token limit (``"90000/m"``), and ``tokens_used`` within its current window.
        waiting: deferred attempts waiting for this key.
        started_total, deferred_total, tokens_total: counts since the key was first used (or last idle a day).
    """

    key: str
    concurrency: int | None
    running: int
    rate: str | None
    started: int
    tokens: str | None
    tokens_used: int
    waiting: int
    started_total: int
    deferred_total: int
    tokens_total: int

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``coord limits --json``)."""
        return dict(vars(self))


def limit_uses(keys: Keys, now_ms: int) -> list[LimitUse]:
    """Every limit key of the namespace with its use now, sorted by key (two round trips)."""
    client = sync_client()
    names = sorted(str(name) for name in client.smembers(keys.limit_keys))
    if not names:
        return []
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.limit(name, "info"))
        pipe.zcount(keys.limit(name, "leases"), f"({now_ms}", "+inf")
        pipe.zcard(keys.limit(name, "waiting"))
    replies = pipe.execute()
    windows = client.pipeline(transaction=False)
    infos: list[tuple[str, dict[str, str], int, int]] = []
    for index, name in enumerate(names):
        info, running, waiting = replies[3 * index : 3 * index + 3]
        if not info:
            continue  # idle for a day: its records expired
        infos.append((name, info, int(running), int(waiting)))
        rate_ms = int(info.get("rate_ms") or 0)
        # (starts within the window so far; reservations of deferred attempts lie ahead and are not counted)
        windows.zcount(keys.limit(name, "starts"), f"({now_ms - rate_ms}" if rate_ms else "+inf", now_ms)
    counts = windows.execute()
    uses = []
    for (name, info, running, waiting), started in zip(infos, counts, strict=True):
        tokens_used = 0
        if info.get("tokens_n") and info.get("tokens_ms"):
            ahead = max(0.0, float(info.get("tat") or 0) - now_ms)
            tokens_used = round(ahead * int(info["tokens_n"]) / int(info["tokens_ms"]))
        uses.append(
            LimitUse(
                key=name,
                concurrency=int(info["concurrency"]) if info.get("concurrency") else None,
                running=running,
                rate=info.get("rate") or None,
                started=int(started),
                tokens=info.get("tokens") or None,
                tokens_used=tokens_used,
                waiting=waiting,
                started_total=int(info.get("started") or 0),
                deferred_total=int(info.get("deferred") or 0),
                tokens_total=int(info.get("tokens_used") or 0),
            )
        )
    return uses
