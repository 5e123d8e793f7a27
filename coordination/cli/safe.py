r"""Showing text that came from users in a terminal: every command prints other people's strings through here.

Agent ids are checked, but errors, results, reasons, workflow descriptions, signal data, file names and history
rows are whatever an agent, a producer or a user wrote. Printed raw, ``\x1b]0;...\x07`` retitles the terminal,
``\x1b[2J`` clears it, a carriage return hides what came before, and Rich reads ``[/x]`` as markup (a
``MarkupError`` that ends the command) or swallows ``[fr]`` as a style. Two functions::

    console.print(safe(error))                                # a Text: Rich never reads markup in it
    console.print(Text.assemble(("error: ", "red"), safe(message)))
    table.add_row(safe(agent.agent_id), safe(agent.error))
    typer.echo(plain(reason))                                 # a str, for plain output

What they do: every character that is not printable (control characters, ESC, DEL, the C1 range, line and
paragraph separators, bidirectional overrides, lone surrogates) is written as its escape (``\x1b``, ``\n``,
``\u202e``), so the text shows what it holds and cannot act on the terminal. Printable text, including any
language's letters, passes unchanged.
"""

from __future__ import annotations

from rich.text import Text

__all__ = ["plain", "safe"]

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def plain(value: object) -> str:
    r"""``value`` as a string whose non-printable characters are written as escapes (``\x1b``, ``\n``)."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else _escape(character) for character in text)


def safe(value: object, style: str = "") -> Text:
    """``value`` as a Rich :class:`~rich.text.Text` (never read as markup), non-printable characters escaped."""
    return Text(plain(value), style=style)


def _escape(character: str) -> str:
    if character in _ESCAPES:
        return _ESCAPES[character]
    code = ord(character)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
