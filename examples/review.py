"""The review example's agents: split -> review (one attempt per file) -> summary -> merge (after a sign-off).

``review`` runs once per file (``run.item``), streams its review text and reports progress while it "thinks",
and records the tokens its model call used; ``summary`` reads the reviews in file order. The input may name the
files (``{"files": [...]}``), a file whose review fails in the first run (``{"broken": "models.py"}``: both of
its attempts fail, so the run fails; ``coord retry CID`` then reviews that file again, and it passes), and a pace
(``{"pace": 0}`` runs without pauses).
"""

from __future__ import annotations

import time
from typing import Any

from coordination import agent

DEFAULT_FILES = ["api.py", "models.py", "tests/test_api.py"]


def _pause(run: Any, seconds: float) -> None:
    time.sleep(seconds * float((run.input or {}).get("pace", 1.0)))


@agent("split")
def split(run: Any) -> dict[str, Any]:
    """List the files of the change."""
    files = list((run.input or {}).get("files", DEFAULT_FILES))
    return {"summary": f"{len(files)} files to review", "files": files}


@agent("review")
def review(run: Any) -> dict[str, Any]:
    """Review one file, streaming the text as a model would produce it."""
    path = str(run.item)
    if path == (run.input or {}).get("broken") and run.attempt <= 2:  # a flaky tool: fine again by the re-run
        raise RuntimeError(f"cannot parse {path}")
    words = f"{path}: names are clear, one function is long, tests cover the happy path".split()
    for index, word in enumerate(words, start=1):
        run.stream(word + " ")
        run.progress(index / len(words), f"reviewing {path}")
        _pause(run, 0.05)
    run.use_tokens(40 * len(words))
    return {"file": path, "comments": 1, "text": " ".join(words), "quality_score": 0.9}


@agent("summary")
def summarise(run: Any) -> dict[str, Any]:
    """Summarise the reviews, in file order."""
    reviews = run.result_of("review") or []
    comments = sum(int(item.get("comments", 0)) for item in reviews if item)
    return {"summary": f"{len(reviews)} files reviewed, {comments} comments", "files": [r["file"] for r in reviews]}


@agent("merge")
def merge(run: Any) -> dict[str, Any]:
    """Merge the change (after the sign-off)."""
    _pause(run, 0.2)
    return {"summary": "merged"}
