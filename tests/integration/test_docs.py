"""Every ```python block of README.md and docs/*.md runs as it is written, each on its own.

One test per block (id ``file:line``), run as a script body in a fresh module namespace, against the real Redis
(and PostgreSQL for the archive's examples), with settings of its own: a fresh root key prefix, task queue and
archive schema, so an example may use any component namespace or id it likes. Whatever it promises beyond running
it states with ``assert``. A block that is not meant to run on its own is not a ```python block (```text, ```bash).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import get_settings, reload_settings
from coordination.store.connection import reset_clients, sync_client
from tests.conftest import forget_queue

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A fenced block, also one indented inside a list item (its lines are dedented by the fence's indentation).
PYTHON_BLOCK = re.compile(r"^(?P<indent> *)```python\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)


def python_blocks() -> list[pytest.param]:  # type: ignore[valid-type]
    """Every python block of the documents, with its ``file:line`` id."""
    blocks = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for match in PYTHON_BLOCK.finditer(text):
            indent = len(match["indent"])
            code = "".join(line[indent:] for line in match["code"].splitlines(keepends=True))
            line = text.count("\n", 0, match.start()) + 1
            name = f"{document.relative_to(ROOT)}:{line}"
            blocks.append(pytest.param(name, code, id=name))
    return blocks


BLOCKS = python_blocks()


def test_every_document_with_examples_is_found() -> None:
    documents = {str(block.values[0]).split(":")[0] for block in BLOCKS}
    assert {"README.md", "docs/context.md", "docs/metrics.md", "docs/workflows.md"} <= documents


@pytest.fixture
def fresh_settings(request: pytest.FixtureRequest, redis_server: str) -> Iterator[None]:
    """Settings of the example's own: root key prefix, task queue, archive schema; all removed afterwards."""
    import config.celery_app as celery_module

    suffix = uuid.uuid4().hex[:10]
    root, queue, schema = f"docs-{suffix}", f"docs-q-{suffix}", f"docs_{suffix}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COORD_NAMESPACE", root)
        patch.setenv("COORD_TASK_QUEUE", queue)
        patch.setenv("COORD_DATABASE_SCHEMA", schema)
        reload_settings()
        reset_clients()
        celery_module.apply_connection_settings(celery_module.app)
        try:
            yield
        finally:
            client = sync_client()
            for key in client.scan_iter(match=f"{root}:*", count=1000):
                client.delete(key)
            forget_queue(queue)
            forget_queue(f"{queue}.periodic")
            if _uses_archive(request.node.callspec.params["code"]):
                _drop_schema(schema)
    reload_settings()
    reset_clients()
    celery_module.apply_connection_settings(celery_module.app)


def _uses_archive(code: str) -> bool:
    """The archive's examples need PostgreSQL too (the others must run without it)."""
    return "coordination.archive" in code


def _drop_schema(schema: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(get_settings().database_url.get_secret_value(), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


@pytest.mark.parametrize(("name", "code"), BLOCKS)
def test_the_example_runs(name: str, code: str, request: pytest.FixtureRequest) -> None:
    if _uses_archive(code):
        request.getfixturevalue("postgres_server")
    request.getfixturevalue("fresh_settings")

    exec(compile(code, name, "exec"), {"__name__": "__docs__"})
