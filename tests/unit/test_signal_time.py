"""The emission time of a signal: its ISO text is spelled without a datetime, and must be isoformat()'s."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from coordination.signals import _iso_utc, _Moment


def instants() -> list[datetime]:
    """Edges of days, months, leap years and centuries, whole seconds, and random instants up to 2200."""
    fixed = [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2000, 2, 29, 12, 0, tzinfo=UTC),
        datetime(2000, 3, 1, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 59, 59, 500000, tzinfo=UTC),
        datetime(2026, 12, 4, 5, 6, 7, 123, tzinfo=UTC),
        datetime(2100, 2, 28, 23, 59, 59, tzinfo=UTC),
        datetime(2100, 3, 1, tzinfo=UTC),
        datetime(2199, 12, 31, 23, 59, 59, 10, tzinfo=UTC),
    ]
    draw = random.Random(20261204)
    span = int((datetime(2200, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    drawn = [
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=draw.randrange(span), microseconds=draw.randrange(10**6))
        for _ in range(2000)
    ]
    whole = [moment.replace(microsecond=0) for moment in drawn[:200]]
    return fixed + drawn + whole


def test_the_emitters_iso_text_is_what_isoformat_spells_for_every_instant() -> None:
    moments = instants()
    spelled = [_iso_utc(int(moment.timestamp()), moment.microsecond) for moment in moments]
    assert spelled == [moment.isoformat() for moment in moments]
    for now in (0.0, 1764820800.9999996, 1764820859.9999999, 1764820800.0000004, 1709251199.5):
        moment = _Moment(now)
        assert moment.iso == moment.timestamp.isoformat()
        assert moment.timestamp == datetime.fromtimestamp(float(moment.posix), UTC)
        assert abs(moment.timestamp - datetime.fromtimestamp(now, UTC)) <= timedelta(microseconds=1)
        assert moment.posix.split(".")[1].isdigit() and len(moment.posix.split(".")[1]) == 6
        assert moment.milliseconds == int(float(moment.posix) * 1000)
