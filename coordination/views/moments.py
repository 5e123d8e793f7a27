"""Moments as people type them in filters: ``30m``, ``2h``, ``7d`` ago, or an ISO 8601 date or time (UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from coordination.errors import InvalidInputError

_AGO = re.compile(r"^(\d{1,6})\s*([smhdw])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(text: str, field: str, now: datetime | None = None) -> datetime:
    """``2h`` (two hours before ``now``), ``2026-01-31`` or ``2026-01-31T12:00`` (UTC unless it says otherwise).

    Raises:
        InvalidInputError: neither form; the message names ``field``.
    """
    value = text.strip()
    found = _AGO.match(value)
    if found:
        amount, unit = int(found.group(1)), found.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNIT[unit]: amount})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            field, f"{text[:40]!r} is neither a time ago (30m, 2h, 7d) nor an ISO date or time (2026-01-31T12:00)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
