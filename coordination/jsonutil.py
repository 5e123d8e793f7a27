"""JSON encoding with the size and serializability checks every write goes through (pure)."""

from __future__ import annotations

import json
from typing import Any

from coordination.errors import NotSerializableError, PayloadTooLargeError

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any, field: str, limit: int | None = None) -> str:
    """Encode ``value`` as compact JSON, refusing what JSON cannot carry or what is too large.

    Args:
        value: the value to encode.
        field: the argument name used in error messages.
        limit: the largest accepted size in bytes (UTF-8), or None for no limit.

    Raises:
        NotSerializableError: ``value`` holds something JSON cannot represent (objects, NaN, ...).
        PayloadTooLargeError: the encoding is larger than ``limit``.
    """
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError) as error:
        raise NotSerializableError(field, f"is not JSON-serializable ({error})") from error
    # A character is at most 4 bytes in UTF-8, so short texts need no encoding to be measured.
    if limit is not None and len(text) * 4 > limit:
        size = len(text.encode("utf-8"))
        if size > limit:
            raise PayloadTooLargeError(field, f"is {size} bytes of JSON, over the limit of {limit} bytes")
    return text


def loads(text: str | bytes) -> Any:
    """Decode JSON written by :func:`dumps`."""
    return json.loads(text)
