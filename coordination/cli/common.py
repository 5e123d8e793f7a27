"""What every command shares: the consoles, and one way of turning errors into messages and exit codes.

Exit codes: 0 success, 1 the thing asked about failed or does not exist, 2 bad input or an invalid setting (the
message names the field or the variable), 3 a service (Redis, PostgreSQL) could not be reached, 130 interrupted.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from config.settings import SettingsError
from coordination.cli.safe import safe
from coordination.errors import InvalidInputError, ServiceUnavailableError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print ``error: message`` on one line of stderr and return the Exit to raise.

    ``message`` is shown as it is (escaped, never read as markup): it usually quotes what the user gave.
    """
    err_console.print(Text.assemble(("error:", "red"), " ", safe(message)), soft_wrap=True)
    return typer.Exit(code)


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the package's errors into one-line messages and exit codes instead of tracebacks."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        try:
            return command(*args, **kwargs)
        except InvalidInputError as error:
            raise fail(f"{error.field}: {error.problem}", EXIT_BAD_INPUT) from None
        except SettingsError as error:  # names the variable, never its value
            raise fail(str(error), EXIT_BAD_INPUT) from None
        except (ServiceUnavailableError, RedisConnectionError, RedisTimeoutError) as error:
            raise fail(f"service unreachable: {error}", EXIT_UNAVAILABLE) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return run


def parse_json_option(text: str | None, field: str) -> Any:
    """Parse a JSON command-line option (None stays None).

    Raises:
        InvalidInputError: the text is not JSON; names ``field``.
    """
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInputError(field, f"not valid JSON ({error.msg} at character {error.pos})") from None


def hide_password(url: str) -> str:
    """The URL with its password (if any) replaced by ``***`` (each entry of a Sentinel URL too)."""
    from config.urls import mask_password

    return mask_password(url)
