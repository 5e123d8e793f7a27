"""Write the table of docs/settings.md from the settings model, so it can never drift from the code.

``python scripts/settings_doc.py`` rewrites docs/settings.md; with ``--check`` it exits 1 if the page is out of
date (a test runs this).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402

TARGET = ROOT / "docs" / "settings.md"

#: The line after which the page is generated; everything above it is written by hand.
MARKER = "<!-- Below: generated from config/settings.py by `python scripts/settings_doc.py`. -->"

TABLE_HEAD = """
| variable | default | what it is |
|---|---|---|
"""


def _default(value: object) -> str:
    if value is None or isinstance(value, SecretStr):
        return "(none)"
    text = str(value)
    return f"`{text}`" if text else "(empty)"


def render() -> str:
    """The whole page: the hand-written part above the marker, then the generated table."""
    current = TARGET.read_text() if TARGET.is_file() else f"# Settings\n\n{MARKER}\n"
    if MARKER not in current:
        raise SystemExit(f"{TARGET.relative_to(ROOT)} has lost its marker line: {MARKER}")
    head = current[: current.index(MARKER) + len(MARKER)] + "\n"
    rows = []
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `COORD_{name.upper()}` | {_default(field.default)} | {description} |")
    return head + TABLE_HEAD + "\n".join(rows) + "\n"


def main(arguments: list[str]) -> int:
    """Rewrite the page, or with --check, say whether it is current."""
    text = render()
    if "--check" in arguments:
        if not TARGET.is_file() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python scripts/settings_doc.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
