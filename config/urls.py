"""Service URLs as secrets: a URL's password never reaches a repr, a log line or an error message.

:class:`SecretUrl` holds the real URL (``url.get_secret_value()``) and shows it with the password replaced by
``***`` (``str(url)``, ``repr(url)``, ``settings.model_dump()``), so an operator still sees which host a process
talks to. The checks below validate the URL forms each service accepts without ever quoting the URL back.

A Redis Sentinel URL is kombu's form, several sentinels separated by ``;``::

    sentinel://[[user]:password@]host:port[/db];sentinel://host2:port;...

The user, password and database of the *first* entry are those of the master (kombu and Celery read them from
there too); the sentinels themselves authenticate with ``COORD_REDIS_SENTINEL_PASSWORD``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from pydantic import Secret

#: Shown instead of a password.
MASK = "***"
SENTINEL_SCHEME = "sentinel"
#: What the Celery broker and result backend accept (kombu and Celery's Redis transports).
CELERY_REDIS_SCHEMES = ("redis", "rediss", SENTINEL_SCHEME)
#: What the coordination store accepts (redis-py's ``from_url`` schemes, and Sentinel).
STORE_SCHEMES = ("redis", "rediss", "unix", SENTINEL_SCHEME)
#: Query parameters that carry a password (redis-py's ``unix://...?password=``, libpq's ``?password=``).
_SECRET_QUERY_KEYS = frozenset({"password", "passwd"})
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{0,31}$")
_DATABASE_SCHEME = re.compile(r"^(postgresql|sqlite)(\+[a-z0-9_]+)?$")


def mask_password(url: str) -> str:
    """``url`` with every password (in the user part or the query) replaced by ``***``; never raises.

    Works on each ``;``-separated part of a Sentinel URL, and on text that does not parse as a URL.
    """
    return ";".join(_mask_one(part) for part in url.split(";"))


def _mask_one(url: str) -> str:
    start = url.find("://")
    if start >= 0:
        # The user part ends at the last "@" before the path: a password with an unescaped "@" is masked whole.
        end = url.find("/", start + 3)
        at = url.rfind("@", start + 3, end if end >= 0 else len(url))
        if at >= 0:
            user_info = url[start + 3 : at]
            if ":" in user_info:
                user = user_info.split(":", 1)[0]
                url = f"{url[: start + 3]}{user}:{MASK}{url[at:]}"
    return _mask_query(url)


def _mask_query(url: str) -> str:
    base, mark, query = url.partition("?")
    if not mark:
        return url
    pairs = []
    for pair in query.split("&"):
        key, equals, _value = pair.partition("=")
        pairs.append(f"{key}={MASK}" if equals and key.lower() in _SECRET_QUERY_KEYS else pair)
    return f"{base}?{'&'.join(pairs)}"


class SecretUrl(Secret[str]):
    """A URL that shows itself without its password; ``get_secret_value()`` gives the real one."""

    def _display(self) -> str:
        return mask_password(self.get_secret_value())


def scheme_of(url: str) -> str:
    """The URL's scheme, lower-cased (``""`` when there is none, or when the text before ``://`` is no scheme)."""
    head, separator, _rest = url.partition("://")
    return head.lower() if separator and _SCHEME.match(head) else ""


def is_sentinel(url: str) -> bool:
    """True for a Redis Sentinel URL (``sentinel://...``)."""
    return scheme_of(url) == SENTINEL_SCHEME


def check_redis_url(url: str, schemes: tuple[str, ...]) -> None:
    """Check that ``url`` is a Redis URL of one of ``schemes``.

    Raises:
        ValueError: what is wrong, without the URL itself (it may hold a password).
    """
    if is_sentinel(url) and SENTINEL_SCHEME in schemes:
        parse_sentinel_url(url)
        return
    scheme = scheme_of(url)
    if scheme not in schemes:
        shown = f"'{scheme}://'" if scheme else "none"
        expected = ", ".join(f"{name}://" for name in schemes)
        raise ValueError(f"must be a Redis URL ({expected}); the scheme is {shown}")
    parts = _split(url)
    if scheme != "unix" and not parts.hostname:
        raise ValueError(f"a {scheme}:// URL needs a host (e.g. {scheme}://127.0.0.1:6379/0)")
    _database_number(parts.path, scheme)


def check_database_url(url: str) -> None:
    """Check that ``url`` is a SQLAlchemy URL for PostgreSQL or SQLite (the archive checks the details).

    Raises:
        ValueError: what is wrong, without the URL itself.
    """
    scheme = scheme_of(url)
    if not _DATABASE_SCHEME.match(scheme):
        shown = f"'{scheme}://'" if scheme else "none"
        raise ValueError(
            "must be a PostgreSQL URL (postgresql+psycopg://user@host:5432/database) or, for the embedded demo "
            f"mode, a SQLite file URL (sqlite:///path/archive.sqlite); the scheme is {shown}"
        )
    _split(url)


@dataclass(frozen=True)
class SentinelUrl:
    """The parts of a Sentinel URL: where the sentinels are, and how to talk to the master they name."""

    sentinels: tuple[tuple[str, int], ...]
    db: int
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # the password stays out of tracebacks and logs
        hosts = ";".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"SentinelUrl({hosts}, db={self.db}, password={'set' if self.password else 'none'})"


#: The port of a sentinel when the URL gives none (Redis Sentinel's default).
DEFAULT_SENTINEL_PORT = 26379


def parse_sentinel_url(url: str) -> SentinelUrl:
    """Split ``sentinel://[[user]:password@]host:port[/db];sentinel://host2:port;...`` into its parts.

    Raises:
        ValueError: what is wrong, without the URL itself.
    """
    sentinels: list[tuple[str, int]] = []
    first = None
    for number, part in enumerate(url.split(";"), start=1):
        if not part.strip():
            continue
        if not is_sentinel(part):
            raise ValueError(
                f"entry {number} of the Sentinel URL must start with sentinel:// (entries are ';'-separated)"
            )
        parts = _split(part)
        if not parts.hostname:
            raise ValueError(f"entry {number} of the Sentinel URL needs a host (sentinel://host:26379)")
        sentinels.append((parts.hostname, parts.port or DEFAULT_SENTINEL_PORT))
        if first is None:
            first = parts
    if first is None:
        raise ValueError("the Sentinel URL names no sentinel")
    return SentinelUrl(
        sentinels=tuple(sentinels),
        db=_database_number(first.path, SENTINEL_SCHEME),
        username=unquote(first.username) if first.username else None,
        password=unquote(first.password) if first.password else None,
    )


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise ValueError(
            "is not a valid URL (check the host, the port and that special characters are %-escaped)"
        ) from None
    return parts


def _database_number(path: str, scheme: str) -> int:
    if scheme == "unix":
        return 0
    text = path.lstrip("/")
    if not text:
        return 0
    if not text.isdigit():
        raise ValueError(f"the database in a {scheme}:// URL must be a number (…/2)")
    return int(text)
