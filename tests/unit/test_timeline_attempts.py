"""Attempts read from a coordination's signals: what counts as an attempt's error (the web page lists errors)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coordination.models.signals import CoordinationSignal, SignalType
from coordination.views.timeline import attempts_from_signals

START = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _signal(kind: SignalType, seconds: float, **data: object) -> CoordinationSignal:
    return CoordinationSignal(
        signal_type=kind,
        sender_agent_id="model-gen",
        event_data={"agent_id": "model-gen", **data},
        coordination_id="c",
        timestamp=START + timedelta(seconds=seconds),
    )


def test_a_retry_routing_asked_for_is_no_error_but_one_after_an_exception_is() -> None:
    signals = [
        _signal(SignalType.AGENT_INITIALIZED, 0, attempt=1),
        _signal(SignalType.AGENT_RETRYING, 1, attempt=1, error="", reason="Conditional rule 'retry-low' matched"),
        _signal(SignalType.AGENT_INITIALIZED, 2, attempt=2),
        _signal(SignalType.AGENT_RETRYING, 3, attempt=2, error="RuntimeError: boom", reason="the agent raised"),
        _signal(SignalType.AGENT_INITIALIZED, 4, attempt=3),
        _signal(SignalType.AGENT_FAILED, 5, attempt=3, status="failed", reason="retries exhausted"),
    ]

    attempts = attempts_from_signals(signals, running=False, end=START + timedelta(seconds=6))

    assert [(a.attempt, a.outcome, a.error) for a in attempts] == [
        (1, "retrying", None),
        (2, "retrying", "RuntimeError: boom"),
        (3, "failed", "retries exhausted"),
    ]
