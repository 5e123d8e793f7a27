"""Pydantic validation errors as the package's own errors, with one spelling of field paths (pure).

Every public entry point that validates input with a pydantic model reports the first problem as an
:class:`~coordination.errors.InvalidInputError` (or a subclass) whose ``field`` is a path such as
``dependencies[0].timeout`` — list positions in brackets, names joined by dots — the spelling the hand-written
checks use too, so one input gets the same field name whichever check refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pydantic import ValidationError

from coordination.errors import InvalidInputError

_E = TypeVar("_E", bound=InvalidInputError)

#: How much of the refused value a message quotes.
QUOTED_INPUT_LIMIT = 60


def field_path(location: Iterable[int | str], prefix: str = "") -> str:
    """Join a pydantic error location after ``prefix``: ``("rules", 0, "name")`` → ``rules[0].name``.

    A dict key that is empty, not printable or holds ``.``/``[``/``]`` is shown quoted and escaped (a newline in
    a key is shown as backslash-n), so a path never carries control characters; pydantic's ``[key]`` marker
    (the problem is the key itself, not its value) is appended as it is: ``tags['a.b'][key]``.
    """
    path = prefix
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += part
        elif not part or not part.isprintable() or any(mark in part for mark in ".[]"):
            path += f"[{part[:40]!a}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def input_error(
    error: ValidationError,
    prefix: str = "",
    *,
    error_class: type[_E] = InvalidInputError,  # type: ignore[assignment]
    default_field: str = "input",
) -> _E:
    """Return the first problem of ``error`` as ``error_class(field, problem)``.

    Args:
        error: what pydantic raised.
        prefix: the argument the validated value came from (``"shared_intelligence"``); the error's location is
            appended to it.
        error_class: :class:`InvalidInputError` or a subclass (``WorkflowError``, ...).
        default_field: the field named when the problem concerns the whole value (empty location, no prefix).

    Our own validators raise ``InvalidInputError`` inside models; their field is joined to the location (see
    :func:`_joined`) and their problem is passed on unchanged.
    """
    first = error.errors()[0]
    location = field_path(first["loc"], prefix)
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, InvalidInputError):
        # A more precise kind of the error asked for is kept (NotSerializableError, PayloadTooLargeError, ...).
        kind = type(cause) if isinstance(cause, error_class) else error_class
        return kind(_joined(location, cause.field), cause.problem)
    problem = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] != "missing" and "input" in first:
        problem = f"{problem} (got {first['input']!r:.{QUOTED_INPUT_LIMIT}})"
    return error_class(location or default_field, problem)


def _joined(location: str, field: str) -> str:
    """The location of a model error and the field our validator named, as one path.

    The validator's field may repeat the end of the location (a field validator of ``timeout`` says
    ``timeout``; one of ``input_data`` says ``input_data.when``): the overlap is written once, so
    ``agents.a.input_data`` and ``input_data.when`` give ``agents.a.input_data.when``.
    """
    if not location or field.startswith(location):
        return field
    parts = location.split(".")
    for start in range(len(parts)):
        overlap = ".".join(parts[start:])
        if field == overlap or field.startswith((f"{overlap}.", f"{overlap}[")):
            return ".".join([*parts[:start], field])
    return f"{location}.{field}"
