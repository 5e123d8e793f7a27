"""docs/settings.md is the table of every setting, generated from config/settings.py and never stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_settings_page_lists_every_setting_as_the_code_declares_it():
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_doc.py"), "--check"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    page = (ROOT / "docs" / "settings.md").read_text()
    for name in ("COORD_NAMESPACE", "COORD_TASK_QUEUE", "COORD_PIPELINE_NAMESPACE", "COORD_AGENT_MODULES"):
        assert f"| `{name}` |" in page
