"""A coordination's agent messages go to its own queue, whoever sends them (a worker, beat, another shell's CLI).

Found by a fresh-user trial: ``coord approve`` from a shell with another ``COORD_TASK_QUEUE`` sent the approved
agent to a queue nobody consumed, and the coordination stayed queued for ever. Real Redis; the Celery messages are
captured at ``app.send_task`` (what a broker would receive, with its queue).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from config.celery_app import app
from config.settings import reload_settings
from coordination import Workflow, WorkflowError, approve
from coordination.cli import app as cli
from coordination.pipeline import spec_cache
from coordination.pipeline.runtime import execute_attempt
from coordination.store.connection import reset_clients

pytestmark = pytest.mark.redis

Sent = list[tuple[str, str]]  # (agent, queue)


@pytest.fixture
def sent(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"queues-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("COORD_TASK_QUEUE", "submitter-queue")
    reload_settings()
    reset_clients()
    messages: Sent = []

    def capture(name: str, *, kwargs: dict[str, Any], queue: str, **_options: Any) -> None:
        messages.append((kwargs["agent_id"], queue))

    monkeypatch.setattr(app, "send_task", capture)
    yield messages
    monkeypatch.undo()
    reload_settings()
    reset_clients()


def _another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a shell (or a worker) with another COORD_TASK_QUEUE looks like: other settings, nothing cached."""
    monkeypatch.setenv("COORD_TASK_QUEUE", "some-other-queue")
    reload_settings()
    spec_cache._cache.clear()


APPROVAL = {
    "name": "queued",
    "agents": {"a": {}, "b": {"depends_on": ["a"]}},
    "dependencies": [{"id": "sign", "agent": "b", "type": "approval", "target": "sign-off"}],
}


def test_an_agent_approved_from_another_shell_goes_to_the_queue_the_coordination_was_submitted_on(
    sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = Workflow(**APPROVAL).submit(check_agents=False)
    assert sent == [("a", "submitter-queue")]

    _another_process(monkeypatch)
    approve(cid, "sign-off", by="someone")  # b still waits for a: nothing is sent yet
    execute_attempt(lambda run: {"done": True}, cid, "a", 1, task_id="t-a")  # a worker of the other queue

    assert sent == [("a", "submitter-queue"), ("b", "submitter-queue")]


def test_a_workflow_may_name_its_queue_and_a_bad_name_is_refused(sent: Sent) -> None:
    Workflow(**{**APPROVAL, "queue": "gpu-agents"}).submit(check_agents=False)
    assert sent == [("a", "gpu-agents")]

    with pytest.raises(WorkflowError) as refused:
        Workflow(**{**APPROVAL, "queue": "no spaces"})
    assert "queue" in str(refused.value)


def test_submitting_a_workflow_without_modules_warns_that_its_tasks_were_not_checked(sent: Sent, tmp_path) -> None:
    path = tmp_path / "nomods.yaml"
    path.write_text("name: nomods\nagents:\n  a: {task: nosuch}\n")

    submitted = CliRunner().invoke(cli, ["submit", str(path)], env={"COLUMNS": "200"})

    assert submitted.exit_code == 0, submitted.output
    assert submitted.stdout.strip().startswith("nomods-")  # the id, alone on stdout
    assert "names no modules:" in submitted.stderr and "not checked" in submitted.stderr
    assert sent == [("a", "submitter-queue")]
