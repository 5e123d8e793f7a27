"""Write docs/settings.md from the settings model, so the table can never drift from the code.

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

HEADER = """# Settings

Every process (worker, beat, Flower, `coord`, the web view) reads these from the environment, or from a `.env` file
in its working directory. Invalid values stop the process at start with a message naming the variable.
Generated from `config/settings.py` by `python scripts/settings_doc.py`; do not edit by hand.

| variable | default | what it is |
|---|---|---|
"""


def _default(value: object) -> str:
    if value is None or isinstance(value, SecretStr):
        return "(none)"
    text = str(value)
    return f"`{text}`" if text else "(empty)"


def render() -> str:
    """The whole page."""
    rows = []
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `COORD_{name.upper()}` | {_default(field.default)} | {description} |")
    return HEADER + "\n".join(rows) + "\n"


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
