"""Every wait on PostgreSQL is bounded: a database that hangs costs an archive run its time-outs, not the outage.

Three bounds, all from the settings, applied to every PostgreSQL engine the archive creates
(:func:`coordination.archive.engine.create_archive_engine`):

- **connect**: ``connect_timeout`` (``COORD_DATABASE_CONNECT_TIMEOUT_SECONDS``) covers the TCP connect *and* the
  start-up exchange, so a server (or a proxy) that accepts connections but never answers fails the connect.
- **statement**: ``statement_timeout`` (``COORD_DATABASE_STATEMENT_TIMEOUT_SECONDS``) makes the server cancel a
  statement that runs too long (a lock held elsewhere, an overloaded server) and say so.
- **reply**: the server's own time-out cannot help when its replies never arrive (packets dropped mid-query).
  :class:`BoundedConnection` waits at most the statement time-out plus :data:`REPLY_GRACE_S` for any reply
  (statement, commit, rollback, ping) and then drops the connection. TCP keepalives and ``tcp_user_timeout`` let
  the kernel notice a peer that vanished as well, when nothing else would.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from sqlalchemy import Engine, event

from config.settings import Settings

#: How much longer than the server's statement time-out the client waits for a reply: enough for the server's own
#: "canceling statement due to statement timeout" to arrive first from a live server.
REPLY_GRACE_S = 2.0
# Idle connections are probed after KEEPALIVE_IDLE_S, every KEEPALIVE_INTERVAL_S, and dropped after
# KEEPALIVE_COUNT probes without an answer: a pooled connection to a vanished server is noticed in about 11 s.
KEEPALIVE_IDLE_S = 5
KEEPALIVE_INTERVAL_S = 2
KEEPALIVE_COUNT = 3


def reply_timeout(settings: Settings) -> float:
    """How long the client waits for any reply of the server before it gives the connection up."""
    return settings.database_statement_timeout_seconds + REPLY_GRACE_S


def connect_args(settings: Settings) -> dict[str, Any]:
    """The libpq parameters that bound connecting, each statement, and a silent peer (see the module)."""
    statement_ms = max(1, round(settings.database_statement_timeout_seconds * 1000))
    return {
        "connect_timeout": settings.database_connect_timeout_seconds,
        "options": f"-c statement_timeout={statement_ms}",
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_S,
        "keepalives_interval": KEEPALIVE_INTERVAL_S,
        "keepalives_count": KEEPALIVE_COUNT,
        # Data sent but not acknowledged for this long (packets dropped on the way) closes the connection.
        "tcp_user_timeout": round(reply_timeout(settings) * 1000),
    }


class ReplyTimeoutError(psycopg.OperationalError):
    """The database sent no reply within the reply time-out; the connection was dropped."""


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection that waits at most :attr:`reply_timeout` seconds for any reply of the server.

    psycopg sends every statement, commit and rollback through :meth:`wait`; it has no time-out of its own.
    """

    reply_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:  # noqa: D102
        if timeout is not None or self.reply_timeout is None:
            return super().wait(gen, interval, timeout)
        started = time.monotonic()
        try:
            return super().wait(gen, interval, self.reply_timeout)
        except psycopg.OperationalError as error:
            if time.monotonic() - started < self.reply_timeout:
                raise  # an error the server (or the network) reported, not our time-out
            # The statement may still be pending on the server side: this connection cannot be used again.
            self.close()
            raise ReplyTimeoutError(
                f"no reply from the database within {self.reply_timeout:g} s "
                "(COORD_DATABASE_STATEMENT_TIMEOUT_SECONDS + grace); connection dropped"
            ) from error


def bound_replies(engine: Engine, settings: Settings) -> None:
    """Make ``engine`` open :class:`BoundedConnection` s (a SQLAlchemy ``do_connect`` hook)."""
    limit = reply_timeout(settings)

    def connect(_dialect: Any, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]) -> BoundedConnection:
        connection = BoundedConnection.connect(*cargs, **cparams)
        connection.reply_timeout = limit
        return connection

    event.listen(engine, "do_connect", connect)
