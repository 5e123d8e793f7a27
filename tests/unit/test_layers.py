"""The layer rules that import-linter cannot see: imports inside functions only where Celery's app loading forces it.

(``make lint`` runs import-linter: layers, no cycles between siblings, pure modules without I/O.)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Function-level imports below the command line, each with its reason (everything else imports at the top).
ALLOWED = {
    # `import coordination` must not build the Celery app (it reads the settings): `agent` is loaded on first use.
    ("coordination/__init__.py", "tasks.agents"),
    # The Celery app is built on first use: checking a workflow's agents is when it is needed.
    ("coordination/workflow.py", "config.celery_app"),
    # The pipeline publishes through the Celery app, whose module names this package's tasks (a cycle at import).
    ("coordination/pipeline/dispatch.py", "config.celery_app"),
}


def _function_level_imports(path: Path) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    found.add((path.relative_to(ROOT).as_posix(), inner.module))
                elif isinstance(inner, ast.Import):
                    found.update((path.relative_to(ROOT).as_posix(), alias.name) for alias in inner.names)
    return found


def test_below_the_command_line_modules_import_at_the_top_but_for_the_reasons_listed() -> None:
    found: set[tuple[str, str]] = set()
    for package in ("config", "coordination", "tasks", "beat"):
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(("coordination/cli/", "coordination/web/")) or "/migrations/" in relative:
                continue  # (the command line and the web view load heavy modules when a command or page runs)
            found |= _function_level_imports(path)
    assert found == ALLOWED
