"""HTTP basic authentication for the web view, with the same credentials as Flower (``COORD_FLOWER_BASIC_AUTH``).

The setting holds ``user:password``, or several separated by commas (as Flower accepts them). Every path but the
health check needs them; a wrong or missing ``Authorization`` header gets ``401`` with a ``WWW-Authenticate``
challenge, so a browser asks for them.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

#: Paths that answer without credentials (they say nothing about coordinations).
OPEN_PATHS = frozenset({"/healthz"})


class CredentialsError(ValueError):
    """The credentials setting is malformed; the message names it and says what is wrong."""


def parse_credentials(text: str, setting: str = "COORD_FLOWER_BASIC_AUTH") -> list[tuple[str, str]]:
    """``user:password[,user:password...]`` as pairs.

    Raises:
        CredentialsError: an entry has no colon, or an empty user or password.
    """
    pairs = []
    for index, entry in enumerate(text.split(",")):
        user, colon, password = entry.strip().partition(":")
        if not colon or not user or not password:
            raise CredentialsError(
                f"{setting}: entry {index + 1} must be user:password with neither empty (an empty one would let "
                "anyone in)"
            )
        pairs.append((user, password))
    return pairs


class BasicAuthMiddleware:
    """ASGI middleware letting through only requests with one of ``credentials`` (constant-time comparison)."""

    def __init__(self, app: ASGIApp, credentials: Sequence[tuple[str, str]], realm: str = "coord") -> None:
        self.app = app
        self.expected = [f"{user}:{password}".encode() for user, password in credentials]
        self.realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401 unless the request is for an open path or carries valid credentials."""
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"www-authenticate", f'Basic realm="{self.realm}", charset="UTF-8"'.encode()),
                    (b"content-type", b"text/plain; charset=utf-8"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"authentication required\n"})

    def _allowed(self, scope: Scope) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        # Compare with every entry (no early exit), so timing does not tell which user exists.
        matches = [secrets.compare_digest(given, expected) for expected in self.expected]
        return any(matches)
