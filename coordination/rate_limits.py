"""Per-key concurrency, rate and token limits: parsing and key templates (pure).

An agent (or the whole workflow) declares limits on keys it names::

    limits: [{key: "llm:gpt-x", concurrency: 4, rate: "60/m", tokens: "90000/m"}]

A key may be a template over the coordination's input data: ``"tenant:{input.tenant}"``. Only plain field names
of the input are substituted (no attribute access, no indexing, no format specifications, nothing evaluated); the
key a submission derives is checked like an id (length, characters) before anything is written. Rates are
``"N/s"``, ``"N/m"`` or ``"N/h"`` with ``N`` a positive whole number. Enforcement happens in the store
(``store/lua/limits_lib.lua``, when an attempt starts); this module only reads declarations.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from coordination.errors import InvalidInputError
from coordination.limits import MAX_LIMIT_KEY_LENGTH, MAX_RATE_COUNT, MAX_TOKEN_COUNT

#: A limit key (after its template is filled in): like an id, and ``:`` may separate its parts (``llm:gpt-x``).
LIMIT_KEY = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_LIMIT_KEY_LENGTH - 1}}}")
_KEY_RULE = (
    f"must match ^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_LIMIT_KEY_LENGTH - 1}}}$ (letters, digits, '.', '_', ':', "
    f"'-'; at most {MAX_LIMIT_KEY_LENGTH} characters)"
)
#: A template field: ``input.<name>`` where name is a plain identifier.
_FIELD = re.compile(r"input\.([A-Za-z_][A-Za-z0-9_]*)")
_RATE = re.compile(r"([0-9]{1,15})/([smh])")
_PERIOD_MS = {"s": 1000, "m": 60_000, "h": 3_600_000}


@dataclass(frozen=True)
class Rate:
    """``count`` per ``period_ms`` milliseconds (``"60/m"`` is ``Rate(60, 60000)``)."""

    count: int
    period_ms: int

    def __str__(self) -> str:
        unit = {1000: "s", 60_000: "m", 3_600_000: "h"}[self.period_ms]
        return f"{self.count}/{unit}"


def parse_rate(text: object, field: str, *, maximum: int = MAX_RATE_COUNT) -> Rate:
    """Parse ``"N/s"``, ``"N/m"`` or ``"N/h"`` (``N`` a whole number from 1 to ``maximum``).

    Raises:
        InvalidInputError: names ``field`` and says what is accepted.
    """
    if not isinstance(text, str):
        raise InvalidInputError(field, f'must be a rate such as "60/m" (N/s, N/m or N/h), got {type(text).__name__}')
    match = _RATE.fullmatch(text.strip())
    if match is None:
        raise InvalidInputError(field, f'must be a rate such as "60/m" (N/s, N/m or N/h), got {text[:40]!r}')
    count = int(match.group(1))
    if not 1 <= count <= maximum:
        raise InvalidInputError(field, f"the count must be a whole number from 1 to {maximum}, got {count}")
    return Rate(count, _PERIOD_MS[match.group(2)])


def template_fields(template: object, field: str) -> list[str]:
    """The input fields a key template names (``"tenant:{input.tenant}"`` → ``["tenant"]``); checks its form.

    Raises:
        InvalidInputError: the template is not a string, has a brace that is not a field, a field that is not
            ``{input.<name>}``, a conversion or a format specification, or literal text a key cannot hold.
    """
    if not isinstance(template, str):
        raise InvalidInputError(field, f"must be a string, got {type(template).__name__}")
    if not template:
        raise InvalidInputError(field, "must not be empty")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        raise InvalidInputError(field, f"is not a valid template ({error}): {template[:60]!r}") from None
    names: list[str] = []
    for literal, name, spec, conversion in parts:
        if "{" in literal or "}" in literal:
            raise InvalidInputError(field, f"braces only enclose {{input.<field>}}: {template[:60]!r}")
        if name is None:
            continue
        match = _FIELD.fullmatch(name)
        if match is None or spec or conversion:
            raise InvalidInputError(
                field, f"a template field must be {{input.<name>}} (a field of the input data), got {{{name[:40]}}}"
            )
        names.append(match.group(1))
    if not names and LIMIT_KEY.fullmatch(template) is None:
        raise InvalidInputError(field, f"{_KEY_RULE}, got {template[:60]!r}")
    return names


def resolve_key(template: str, input_data: Any, field: str) -> str:
    """Fill a key template from the coordination's input data and check the key it gives.

    Values of the input may be strings or whole numbers; the key must match :data:`LIMIT_KEY`.

    Raises:
        InvalidInputError: names ``field``: the input lacks a field the template names, a value is of another
            type, or the derived key is not a valid limit key.
    """
    names = template_fields(template, field)
    values: dict[str, str] = {}
    for name in names:
        if not isinstance(input_data, Mapping) or name not in input_data:
            raise InvalidInputError(field, f"names input field {name!r}, which the coordination's input does not have")
        value = input_data[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidInputError(
                field, f"input field {name!r} must be a string or a whole number, got {type(value).__name__}"
            )
        values[name] = str(value)
    key = _fill(template, values)
    if LIMIT_KEY.fullmatch(key) is None:
        raise InvalidInputError(field, f"the derived key {key[:60]!r} {_KEY_RULE}")
    return key


def _fill(template: str, values: Mapping[str, str]) -> str:
    out: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values[name.removeprefix("input.")])
    return "".join(out)


class DeclaredLimit(Protocol):
    """What a declared limit offers (``coordination.models.workflow.LimitSpec``)."""

    @property
    def key(self) -> str: ...  # noqa: D102

    @property
    def concurrency(self) -> int | None: ...  # noqa: D102

    @property
    def rate(self) -> str | None: ...  # noqa: D102

    @property
    def tokens(self) -> str | None: ...  # noqa: D102


def resolved_limits(limits: Sequence[DeclaredLimit], input_data: Any, where: str) -> list[dict[str, Any]]:
    """The limits of one agent with their keys filled in, as the store's scripts read them (JSON-ready dicts).

    ``where`` prefixes field names (``agents.model-gen.limits``): ``agents.model-gen.limits[0].key``.
    Each dict has ``key`` and, when declared, ``concurrency``, ``rate`` (text), ``rate_n``/``rate_ms``,
    ``tokens`` (text), ``tokens_n``/``tokens_ms``.
    """
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, limit in enumerate(limits):
        field = f"{where}[{index}]"
        key = resolve_key(limit.key, input_data, f"{field}.key")
        if key in seen:
            raise InvalidInputError(f"{field}.key", f"the key {key!r} is limited twice for the same agent")
        seen.add(key)
        item: dict[str, Any] = {"key": key}
        if limit.concurrency is not None:
            item["concurrency"] = limit.concurrency
        if limit.rate is not None:
            rate = parse_rate(limit.rate, f"{field}.rate")
            item.update(rate=str(rate), rate_n=rate.count, rate_ms=rate.period_ms)
        if limit.tokens is not None:
            tokens = parse_rate(limit.tokens, f"{field}.tokens", maximum=MAX_TOKEN_COUNT)
            item.update(tokens=str(tokens), tokens_n=tokens.count, tokens_ms=tokens.period_ms)
        out.append(item)
    return out


def check_token_count(value: object, field: str = "tokens") -> int:
    """A number of tokens used (``run.use_tokens(n)``): a whole number from 1 to the token bound.

    Raises:
        InvalidInputError: names ``field``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKEN_COUNT:
        raise InvalidInputError(field, f"must be a whole number from 1 to {MAX_TOKEN_COUNT}, got {value!r:.60}")
    return value
