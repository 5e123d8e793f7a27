"""One JSON encoder and one rule for every value the package stores or sends (pure).

State values, signal data, contexts, results, inputs and workflow declarations all go through :func:`dumps`, so
a value is refused (or accepted) the same way wherever it is written. The rule (``docs/security.md``):

* JSON types only: dicts (string keys; int, float, bool and None keys become strings, as ``json`` does), lists
  and tuples, strings, integers, floats, booleans, None. Sets, datetimes, bytes and objects are refused.
* Floats are finite (no NaN or infinities: JSON has no spelling for them).
* Integers are within ±(2**53 - 1) (:data:`MAX_SAFE_INTEGER`), the largest integers an IEEE 754 double holds
  exactly. Every JSON reader keeps those (RFC 7493, I-JSON, section 2.2); JavaScript (Flower, browsers) and many
  parsers silently round larger ones. Send bigger numbers as strings.
* Strings are valid Unicode: a lone surrogate (U+D800 alone) cannot be written as UTF-8 and is refused here,
  not later as a ``UnicodeEncodeError`` in the Redis client.
* Nesting is at most :data:`MAX_DEPTH` levels (a value of 10,000 nested lists is refused with the field named,
  never a ``RecursionError``). Readers have limits of their own: pydantic's JSON parser stops at about 200
  levels, and a stored context wraps its values in a few levels more.
* The UTF-8 size is at most the caller's ``limit``.

How it stays fast (signals and contexts encode on every call): the standard library's C encoder writes the text
and refuses other types and NaN; orjson, also in C, then checks integers and surrogates (``OPT_STRICT_INTEGER``)
and, only for a text with more than MAX_DEPTH brackets, the depth (see :class:`_DepthProbe`). A Python walk of
the value runs only when one of them refused it, to name the offending part (``event_data.items[3].size``). The
encoder's own cycle check is off: a cycle ends in a ``RecursionError``, which the walk names. On a 1 KB payload
the rule costs about 10% of the encoding (``docs/security.md``).
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any

import orjson

from coordination.errors import InvalidInputError, NotSerializableError, PayloadTooLargeError

#: Deepest accepted nesting of lists and dicts (``[[1]]`` is 2 levels).
MAX_DEPTH = 64
#: Largest accepted integer magnitude: 2**53 - 1, exact in every JSON reader (RFC 7493 section 2.2).
MAX_SAFE_INTEGER = 2**53 - 1

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)
# The encoder's own string routine (C): what _ENCODER writes for a str.
_encode_str = json.encoder.encode_basestring
_SURROGATE = re.compile("[\ud800-\udfff]")
# orjson refuses integers beyond 53 bits (STRICT_INTEGER) and lone surrogates; keys other than strings are
# accepted, as the standard encoder accepts them.
_ORJSON_CHECKS = orjson.OPT_STRICT_INTEGER | orjson.OPT_NON_STR_KEYS
#: The deepest nesting orjson encodes (it refuses 255 levels); a unit test pins it.
ORJSON_MAX_DEPTH = 254
# What JSON object keys may be (the standard encoder turns int, float, bool and None keys into strings).
_SCALARS = (str, int, float, type(None))
# Error paths show at most this many parts; keys like this one after a dot, any other quoted and escaped.
_SHOWN_PATH_PARTS = 8
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,39}")


def dumps(value: Any, field: str, limit: int | None = None) -> str:
    """Encode ``value`` as compact JSON under the package's rule (see the module docstring).

    Args:
        value: the value to encode.
        field: the argument name used in error messages; the path inside ``value`` is appended to it
            (``event_data.items[3]``).
        limit: the largest accepted size in bytes (UTF-8), or None for no limit.

    Raises:
        NotSerializableError: ``value`` holds something JSON cannot carry: an object, a set, a datetime, NaN or
            an infinity, an integer beyond ±(2**53 - 1), a lone surrogate, a circular reference.
        PayloadTooLargeError: nested deeper than :data:`MAX_DEPTH`, or the encoding is larger than ``limit``.
    """
    if not value and type(value) is dict and (limit is None or limit >= 2):
        return "{}"  # most metadata and event data: nothing to encode or check
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError) as error:
        raise _explained(value, field, error) from None
    if not _passes_orjson_checks(value, text):
        # orjson objects to something (rarely): the walk decides, and names the path.
        problem = first_problem(value, field)
        if problem is not None:
            raise problem
    # A character is at most 4 bytes in UTF-8, so short texts need no encoding to be measured.
    if limit is not None and len(text) * 4 > limit:
        size = len(text.encode("utf-8"))
        if size > limit:
            raise PayloadTooLargeError(field, f"is {size} bytes of JSON, over the limit of {limit} bytes")
    return text


def dumps_str(text: str, field: str) -> str:
    """Encode one string as :func:`dumps` would (a JSON string literal), for texts assembled from parts.

    Raises:
        NotSerializableError: ``text`` holds a lone surrogate (the error names ``field``).
    """
    if not text.isascii():
        found = _string_problem(text, ())
        if found is not None:
            raise found[1](field, found[2])
    return _encode_str(text)


def loads(text: str | bytes) -> Any:
    """Decode JSON written by :func:`dumps` (or by the Lua scripts' ``cjson``).

    orjson, and no parser at all for the empty object and list most signals carry (``"{}"``, ``"[]"``): every
    signal delivered to a subscriber is decoded here, between the reply and the consumer. What :func:`dumps`
    writes (finite floats, integers within 53 bits, valid Unicode) reads back the same as with ``json``.
    """
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return orjson.loads(text)


def normalized(value: Any, field: str) -> Any:
    """Return ``value`` as it reads back after being stored.

    Checked by the rule; tuples become lists, non-string keys become strings. Models use it for free-form
    fields, so a declaration equals its stored form.

    Raises:
        NotSerializableError, PayloadTooLargeError: as :func:`dumps`.
    """
    return json.loads(dumps(value, field))


def has_lone_surrogate(text: str) -> bool:
    """Tell whether ``text`` holds a lone surrogate, which UTF-8 cannot encode (Redis keys and values are UTF-8)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def first_problem(value: Any, field: str) -> InvalidInputError | None:
    """Return the first part of ``value`` that breaks the rule, as the error naming its path, or None.

    A walk in Python, bounded by :data:`MAX_DEPTH`: :func:`dumps` calls it only when the standard encoder or
    orjson refused the value, to name the offending part (or to find that orjson was stricter than the rule).
    """
    found = _walk(value, (), 0, set())
    if found is None:
        return None
    path, error_class, problem = found
    return error_class(_joined(field, path) or "value", problem)


def _joined(field: str, path: tuple[int | str, ...]) -> str:
    """``field`` and a path inside the value: ``data.items[3]``; odd keys quoted and escaped (``data['a b']``)."""
    for position, part in enumerate(path):
        if position == _SHOWN_PATH_PARTS:
            return f"{field}..."
        if isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            field = f"{field}.{part}" if field else part
        else:
            shown = ascii(part[:40] + "..." if isinstance(part, str) and len(part) > 40 else part)
            field = f"{field}[{shown}]"
    return field


_Found = tuple[tuple[int | str, ...], type[InvalidInputError], str]


def _walk(value: Any, path: tuple[int | str, ...], depth: int, active: set[int]) -> _Found | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _string_problem(value, path)
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        return path, NotSerializableError, _integer_problem(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return path, NotSerializableError, f"holds {value!r}; JSON numbers must be finite"
    if isinstance(value, dict | list | tuple):
        if depth >= MAX_DEPTH:
            return path, PayloadTooLargeError, f"is nested more than {MAX_DEPTH} levels deep (the limit)"
        if id(value) in active:
            return path, NotSerializableError, "holds a circular reference"
        active.add(id(value))
        try:
            if isinstance(value, dict):
                for key, item in value.items():
                    found = _key_problem(key, (*path, key)) or _walk(item, (*path, key), depth + 1, active)
                    if found is not None:
                        return found
            else:
                for index, item in enumerate(value):
                    found = _walk(item, (*path, index), depth + 1, active)
                    if found is not None:
                        return found
        finally:
            active.discard(id(value))
        return None
    return (
        path,
        NotSerializableError,
        f"holds a {type(value).__name__}, which JSON cannot carry (dict, list, str, int, float, bool or None)",
    )


def _key_problem(key: Any, path: tuple[int | str, ...]) -> _Found | None:
    if not isinstance(key, _SCALARS):
        return path, NotSerializableError, f"has a {type(key).__name__} key; JSON object keys are strings"
    if isinstance(key, float) and not math.isfinite(key):
        return path, NotSerializableError, f"has the key {key!r}; JSON numbers must be finite"
    if isinstance(key, str):
        return _string_problem(key, path)
    return None


def _string_problem(text: str, path: tuple[int | str, ...]) -> _Found | None:
    found = None if text.isascii() else _SURROGATE.search(text)
    if found is None:
        return None
    code = f"\\u{ord(found.group()):04x}"
    return path, NotSerializableError, f"holds a lone surrogate ({code}); text must be valid Unicode"


def _integer_problem(value: int) -> str:
    shown = str(value) if value.bit_length() <= 128 else f"an integer of {value.bit_length()} bits"
    return (
        f"holds {shown}, beyond ±{MAX_SAFE_INTEGER} (2**53 - 1), the largest integer every JSON reader keeps "
        "exactly; send it as a string"
    )


def _passes_orjson_checks(value: Any, text: str) -> bool:
    """What the standard encoder does not check (integers, surrogates, depth), orjson checks in C.

    ``text`` is the standard encoding of ``value``: with at most MAX_DEPTH brackets it cannot nest deeper (most
    values), so only integers and surrogates are left to check; otherwise the depth probe checks the depth too.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        try:
            orjson.dumps(value, option=_ORJSON_CHECKS)
        except orjson.JSONEncodeError:
            return False
        return True
    try:
        orjson.dumps(_PROBE.wrapped(value), option=_ORJSON_CHECKS)
    except orjson.JSONEncodeError:
        return False
    finally:
        _PROBE.release()
    return True


class _DepthProbe(threading.local):
    """Lets orjson check the depth, which it limits to ORJSON_MAX_DEPTH levels.

    A value inside ``ORJSON_MAX_DEPTH - MAX_DEPTH`` lists nests at most ``MAX_DEPTH`` levels exactly when orjson
    accepts the whole. The lists are built once per thread; :meth:`wrapped` puts the value in the innermost one.
    """

    def __init__(self) -> None:
        self.innermost: list[Any] = [None]
        self.outermost = self.innermost
        for _ in range(ORJSON_MAX_DEPTH - MAX_DEPTH - 1):
            self.outermost = [self.outermost]

    def wrapped(self, value: Any) -> list[Any]:
        self.innermost[0] = value
        return self.outermost

    def release(self) -> None:
        self.innermost[0] = None  # keep no reference to the caller's value


_PROBE = _DepthProbe()


def _explained(value: Any, field: str, error: Exception) -> InvalidInputError:
    """The error for a value the encoder refused, naming the path of the offending part when the walk finds it."""
    problem = first_problem(value, field)
    if problem is not None:
        return problem
    if isinstance(error, RecursionError):  # the walk is bounded: only a pathological container gets here
        return PayloadTooLargeError(field, f"is nested more than {MAX_DEPTH} levels deep (the limit)")
    return NotSerializableError(field, f"is not JSON-serializable ({error})")
