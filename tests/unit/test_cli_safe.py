"""What users wrote is shown, never obeyed: no escape sequence reaches the terminal, no markup is read."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from coordination.cli import render
from coordination.cli.safe import plain, safe
from coordination.models.signals import CoordinationSignal, SignalType
from coordination.models.status import AgentStatus, CoordinationStatus, DependencyView
from coordination.views.history import Decision, Event

HOSTILE = [
    "\x1b]0;owned\x07",  # retitles the terminal
    "\x1b[2J\x1b[H",  # clears it
    "ok\rFAKE",  # hides what came before
    "\x9b31m",  # C1 CSI
    "[/x]",  # closing tag with nothing open: MarkupError in Rich
    "[fr]",  # swallowed as a style
    "[bold red]alarm[/]",
    "line\nbreak",
    "\u202eevil",  # right-to-left override
    "\x00nul\x7fdel",
    ":thumbs_up:",  # emoji code
]


def rendered(*renderables: object) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=400, force_terminal=True, color_system=None, highlight=False)
    for item in renderables:
        console.print(item)
    return buffer.getvalue()


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_escapes_every_character_a_terminal_would_act_on(text):
    shown = plain(text)
    assert shown.isprintable()
    assert not any(code in shown for code in ("\x1b", "\x07", "\r", "\n", "\x9b", "\u202e", "\x00", "\x7f"))


def test_plain_keeps_printable_text_of_any_language_unchanged():
    assert plain("Générés — 検証 ✓ [x]") == "Générés — 検証 ✓ [x]"
    assert plain("a\tb\nc\x1b") == "a\\tb\\nc\\x1b"
    assert plain(42) == "42"


@given(st.text(max_size=300))
def test_anything_shown_through_safe_is_printed_as_its_escaped_text(text):
    output = rendered(safe(text))
    assert output == plain(text) + "\n"


@pytest.mark.parametrize("text", HOSTILE)
def test_markup_in_user_text_is_shown_literally(text):
    assert plain(text) in rendered(safe(text))


def status_with(text: str) -> CoordinationStatus:
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    return CoordinationStatus(
        coordination_id="wf-1",
        workflow="wf",
        status="failed",
        created_at=moment,
        error=f"cancelled: {text}",
        agents=[AgentStatus(agent_id="a", status="failed", decision=text, error=text)],
        dependencies=[
            DependencyView(dependency_id="d", agent_id="a", dependency_type="quality_gate", target=text, status=text)
        ],
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_status_history_and_signal_renderings_escape_what_agents_and_users_wrote(text):
    status = status_with(text)
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    signal = CoordinationSignal(
        signal_type=SignalType.AGENT_FAILED,
        sender_agent_id="a",
        coordination_id="wf-1",
        event_data={"error": text, text: "key"},
    )
    output = rendered(
        render.agents_table(status),
        render.dependencies_table(status),
        render.summary_line(status),
        render.decisions_table([Decision(moment, "a", 1, text, text, text, "r")]),
        render.timeline_table([Event(moment, text, text, "redis")]),
        render.signal_line(signal),
    )
    for code in ("\x1b]", "\x1b[2J", "\r", "\x9b", "\u202e", "\x00", "\x07"):
        assert code not in output
    if text.isprintable():
        assert text in output  # markup shown literally
