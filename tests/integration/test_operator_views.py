"""What an operator sees, on real Redis and PostgreSQL: lists, graphs, `coord ls|graph|status|check`, the web view.

One module-wide world of six coordinations in a pipeline namespace and archive schema of its own, built with the
real pipeline code in this process (the agent messages a worker would receive are captured and run here)::

    old1, old2   alpha, completed, archived, then expired from Redis (archive only)
    mid          beta, archived while running, completed afterwards (the archive still says running)
    new1         alpha, completed (Redis only)
    new2         beta, cancelled (Redis only)
    new3         gamma, running (Redis only)
"""

from __future__ import annotations

import base64
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient
from typer.testing import CliRunner

from config.settings import reload_settings
from coordination import list_coordinations
from coordination.archive import migrate
from coordination.archive.engine import reset_engines
from coordination.archive.writer import archive_once, expire_archived
from coordination.cli import app as cli
from coordination.errors import ServiceUnavailableError
from coordination.models.statuses import STATUS_COLOURS
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.cancel import cancel_coordination
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import Send
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.pipeline.submission import submit
from coordination.store.connection import reset_clients, sync_client
from coordination.views.status import coordination_status
from coordination.web.app import create_app
from tests.conftest import forget_queue

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

CREDENTIALS = ("operator", "s3cret-for-tests")
HOSTILE = "<script>alert(1)</script> [/x] [fr]"


def _spec(name: str) -> WorkflowSpec:
    return WorkflowSpec.model_validate({"name": name, "agents": {"a": {}, "b": {"depends_on": ["a"]}}})


def _step(run: AgentRun) -> dict[str, Any]:
    return {"summary": f"{run.agent_id} done", "quality_score": 0.9}


@dataclass
class World:
    ids: dict[str, str]
    schema: str
    queue: str
    url: str

    def newest_first(self) -> list[str]:
        return [self.ids[name] for name in ("new3", "new2", "new1", "mid", "old2", "old1")]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def world(redis_server: str, postgres_server: str) -> Iterator[World]:
    schema = f"test_ops_{uuid.uuid4().hex[:10]}"
    queue = f"ops-q-{uuid.uuid4().hex[:8]}"
    messages: list[tuple[str, str, int]] = []

    def capture(self: Dispatcher, task: str, queue: str, item: Send, task_id: str | None = None) -> None:
        messages.append((item.coordination_id, item.agent_id, item.attempt))

    def work() -> None:
        while messages:
            cid, agent_id, attempt = messages.pop(0)
            execute_attempt(_step, cid, agent_id, attempt, task_id=f"task-{uuid.uuid4().hex[:8]}")

    def start(name: str) -> str:
        time.sleep(0.01)  # distinct creation times, so the expected order is unambiguous
        return submit(_spec(name), input={})

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COORD_DATABASE_SCHEMA", schema)
        patch.setenv("COORD_PIPELINE_NAMESPACE", f"pl-{uuid.uuid4().hex[:10]}")
        patch.setenv("COORD_TASK_QUEUE", queue)
        patch.setenv("COORD_FLOWER_URL", "http://flower.example:5555/")
        patch.setattr(Dispatcher, "publish", capture)
        reload_settings()
        reset_engines()
        migrate.upgrade()
        ids: dict[str, str] = {}
        try:
            ids["old1"] = start("alpha")
            work()
            ids["old2"] = start("alpha")
            work()
            assert archive_once().ok
            patch.setenv("COORD_RETENTION_SECONDS", "1")
            reload_settings()
            time.sleep(1.1)
            assert sorted(expire_archived()) == sorted([ids["old1"], ids["old2"]])
            patch.setenv("COORD_RETENTION_SECONDS", "3600")
            reload_settings()
            ids["mid"] = start("beta")
            assert archive_once().ok  # archived while running ...
            work()  # ... and completed afterwards, in Redis only
            ids["new1"] = start("alpha")
            work()
            ids["new2"] = start("beta")
            messages.clear()
            cancel_coordination(ids["new2"], HOSTILE)
            ids["new3"] = start("gamma")
            messages.clear()
            yield World(ids, schema, queue, postgres_server)
        finally:
            reset_engines()
            engine = create_engine(postgres_server, poolclass=NullPool)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()
    reload_settings()
    reset_engines()


@pytest.fixture
def env(world: World, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Change settings for one test (restored afterwards)."""

    def change(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"COORD_{name.upper()}", value)
        reload_settings()
        reset_engines()
        reset_clients()

    yield change
    monkeypatch.undo()
    reload_settings()
    reset_engines()
    reset_clients()


# -- list_coordinations ------------------------------------------------------------------------------------------


def test_the_list_is_newest_first_with_each_coordination_once_from_redis_or_the_archive(world: World):
    page = list_coordinations()
    assert [item.coordination_id for item in page.items] == world.newest_first()
    assert [item.source for item in page.items] == ["redis"] * 4 + ["archive"] * 2
    by_id = {item.coordination_id: item for item in page.items}
    assert by_id[world.ids["mid"]].status == "completed"  # Redis is newer than the archive's "running"
    assert by_id[world.ids["new2"]].status == "cancelled" and HOSTILE in (by_id[world.ids["new2"]].error or "")
    assert page.next_cursor is None and page.warnings == []


def test_filters_select_by_status_workflow_and_time_as_redis_last_saw_them(world: World):
    ids = world.ids

    def listed(**filters: Any) -> list[str]:
        return [item.coordination_id for item in list_coordinations(**filters).items]

    assert listed(status="running") == [ids["new3"]]  # not mid: the archive's "running" is stale
    assert listed(status=["cancelled", "running"]) == [ids["new3"], ids["new2"]]
    assert listed(status="completed") == [ids["new1"], ids["mid"], ids["old2"], ids["old1"]]
    assert listed(workflow="alpha") == [ids["new1"], ids["old2"], ids["old1"]]
    assert listed(status="failed") == []
    mid = coordination_status(ids["mid"]).created_at
    assert listed(since=mid) == [ids["new3"], ids["new2"], ids["new1"], ids["mid"]]
    assert listed(until=mid) == [ids["old2"], ids["old1"]]


def test_pages_follow_each_other_through_the_cursor_without_repeating_or_skipping(world: World):
    for limit, filters in ((2, {}), (1, {"workflow": "alpha"}), (4, {})):
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            page = list_coordinations(limit=limit, cursor=cursor, **filters)
            assert len(page.items) <= limit
            seen += [item.coordination_id for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        expected = list_coordinations(**filters).items
        assert seen == [item.coordination_id for item in expected]


def test_without_postgresql_the_list_is_redis_alone_with_a_warning(world: World, env):
    env(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    page = list_coordinations()
    assert [item.coordination_id for item in page.items] == world.newest_first()[:4]
    assert len(page.warnings) == 1 and page.warnings[0].startswith("archive not read")


def test_without_redis_the_list_is_the_archive_alone_with_a_warning(world: World, env):
    env(redis_url=f"redis://127.0.0.1:{_closed_port()}/2")
    page = list_coordinations()
    assert [(item.coordination_id, item.status) for item in page.items] == [
        (world.ids["mid"], "running"),
        (world.ids["old2"], "completed"),
        (world.ids["old1"], "completed"),
    ]
    assert page.warnings and page.warnings[0].startswith("Redis not read")
    env(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(ServiceUnavailableError, match="neither Redis"):
        list_coordinations()


# -- the CLI -----------------------------------------------------------------------------------------------------


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


def test_coord_ls_prints_the_page_as_json_and_refuses_an_unknown_status(world: World):
    import json

    listed = run_cli("ls", "--json", "--limit", "3")
    assert listed.exit_code == 0, listed.output
    page = json.loads(listed.stdout)
    assert [item["coordination_id"] for item in page["coordinations"]] == world.newest_first()[:3]
    assert page["next_cursor"]
    rest = run_cli("ls", "--json", "--cursor", page["next_cursor"])
    assert [item["coordination_id"] for item in json.loads(rest.stdout)["coordinations"]] == world.newest_first()[3:]
    refused = run_cli("ls", "--status", "bogus")
    assert refused.exit_code == 2 and "status" in refused.output


def test_coord_logs_of_a_coordination_that_wrote_none_says_so_and_a_wrong_id_is_an_error(world: World):
    quiet = run_cli("logs", world.ids["new1"], "--no-archive")  # completed; its agents wrote no log line
    assert quiet.exit_code == 0, quiet.output
    assert "no log lines for" in quiet.stdout and "run.log" in quiet.stdout
    no_agent = run_cli("logs", world.ids["new1"], "nobody", "--no-archive")
    assert no_agent.exit_code == 1 and "has no agent 'nobody'" in no_agent.output
    unknown = run_cli("logs", "never-submitted-1", "--no-archive")
    assert unknown.exit_code == 1 and "never-submitted-1" in unknown.output


def test_coord_ls_shows_a_hostile_error_as_text_not_markup(world: World):
    listed = run_cli("ls", "--status", "cancelled")
    assert listed.exit_code == 0, listed.output
    assert "[/x]" in listed.stdout and "[fr]" in listed.stdout


def test_coord_graph_of_a_live_and_of_an_archived_coordination_is_coloured_by_status(world: World, tmp_path):
    live = run_cli("graph", world.ids["new1"], "--format", "dot")
    assert live.exit_code == 0, live.output
    assert live.stdout.count(f'fillcolor="{STATUS_COLOURS["completed"]}"') == 2
    archived = run_cli("graph", world.ids["old1"], "-f", "mermaid")
    assert archived.exit_code == 0, archived.output
    assert "classDef s_completed" in archived.stdout and "class n0,n1 s_completed" in archived.stdout
    image = tmp_path / "wf.png"
    drawn = run_cli("graph", world.ids["new3"], "-o", str(image))
    assert drawn.exit_code == 0, drawn.output
    assert image.read_bytes().startswith(b"\x89PNG")
    unknown = run_cli("graph", "no-such-coordination-or-file")
    assert unknown.exit_code == 1 and "no workflow file and no coordination" in unknown.output


def test_coord_status_exits_1_for_failed_and_cancelled_and_warns_when_no_worker_consumes_the_queue(world: World):
    completed = run_cli("status", world.ids["new1"])
    assert completed.exit_code == 0, completed.output
    cancelled = run_cli("status", world.ids["new2"])
    assert cancelled.exit_code == 1, cancelled.output
    running = run_cli("status", world.ids["new3"])
    assert running.exit_code == 0
    assert f"no worker consumes queue {world.queue!r}" in running.stderr
    # A failed one exits 1 too.
    failed = submit(_spec("delta"), input={}, coordination_id=f"delta-{uuid.uuid4().hex[:8]}")
    Dispatcher(components()).end(failed, "failed", "failed for the test", agent_status="skipped")
    try:
        shown = run_cli("status", failed)
        assert shown.exit_code == 1 and "failed" in shown.stdout
        assert [item.coordination_id for item in list_coordinations(status="failed").items] == [failed]
    finally:
        _forget(failed)


def _forget(coordination_id: str) -> None:
    """Remove a coordination made by one test from Redis, so the module's world stays as described."""
    client = sync_client()
    keys = _keys()
    for key in client.scan_iter(match=f"*{{{coordination_id}}}*", count=1000):
        client.delete(key)
    client.zrem(keys.finished, coordination_id)
    client.srem(keys.active, coordination_id)


def _keys():
    return components().keys


def test_coord_check_fails_while_the_archive_tables_are_missing_and_passes_once_migrated(
    world: World, env, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("coordination.cli.checks.CANARY_TIMEOUT_S", 0.5)  # workers of other tests may answer pings
    env(database_schema=f"never_{uuid.uuid4().hex[:8]}")
    checked = run_cli("check")
    assert checked.exit_code == 1
    output = " ".join(checked.stdout.split())
    assert re.search(
        r"FAIL database \S+: archive tables missing in schema 'never_\w+' "
        r"\(agent_logs, agent_runs, approvals, coordinations, [^)]*\); run `coord db upgrade`",
        output,
    ), output
    env(database_schema=world.schema)
    output = " ".join(run_cli("check").stdout.split())
    assert re.search(rf"ok database \S+, archive tables in schema '{world.schema}' at revision", output), output
    # When a worker of another test answered the ping, the canary went into this module's queue: take it out.
    forget_queue(world.queue)


# -- the web view ------------------------------------------------------------------------------------------------


@pytest.fixture
def web(world: World) -> TestClient:
    return TestClient(create_app([CREDENTIALS], queues=[world.queue]))


def _auth(user: str = CREDENTIALS[0], password: str = CREDENTIALS[1]) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_every_page_but_the_health_check_needs_the_credentials(web: TestClient, world: World):
    for path in ("/", f"/c/{world.ids['new1']}", f"/c/{world.ids['new1']}/live", "/metrics", "/static/app.js"):
        assert web.get(path).status_code == 401
        assert web.get(path, headers=_auth(password="wrong")).status_code == 401
        assert web.get(path, headers=_auth()).status_code == 200, path
    refused = web.get("/")
    assert refused.headers["www-authenticate"].startswith("Basic")
    assert web.get("/healthz").status_code == 200
    page = web.get("/", headers=_auth())
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_the_list_page_shows_every_coordination_and_filters_like_coord_ls(web: TestClient, world: World):
    page = web.get("/", headers=_auth()).text
    assert re.findall(r'data-coordination="([^"]+)"', page) == world.newest_first()
    filtered = web.get("/?status=running", headers=_auth()).text
    assert re.findall(r'data-coordination="([^"]+)"', filtered) == [world.ids["new3"]]
    bad = web.get("/?status=bogus", headers=_auth())
    assert bad.status_code == 400 and "status" in bad.text


def test_a_coordination_page_shows_agents_graph_timeline_and_flower_links(web: TestClient, world: World):
    page = web.get(f"/c/{world.ids['new1']}", headers=_auth()).text
    assert dict(
        re.findall(
            r'data-agent="([^"]+)">\s*<td>[^<]*</td>\s*<td><span class="badge agent-status" '
            r'data-status="([^"]+)"',
            page,
        )
    ) == {"a": "completed", "b": "completed"}
    assert "<svg" in page and 'class="node"' in page
    assert re.findall(r'data-attempt="([^"]+)" data-outcome="([^"]+)"', page) == [
        ("a/1", "completed"),
        ("b/1", "completed"),
    ]
    task_id = coordination_status(world.ids["new1"]).agent("a").task_id
    assert f'href="http://flower.example:5555/task/{task_id}"' in page
    archived = web.get(f"/c/{world.ids['old1']}", headers=_auth()).text
    assert "read from archive" in archived and 'data-status="completed"' in archived
    assert web.get(f"/c/{world.ids['old1']}/graph.svg", headers=_auth()).headers["content-type"].startswith("image/svg")


def test_user_text_on_a_page_is_escaped(web: TestClient, world: World):
    page = web.get(f"/c/{world.ids['new2']}", headers=_auth()).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; [/x] [fr]" in page
    assert "<script>alert(1)" not in page


def test_unknown_and_malformed_ids_get_404_and_400(web: TestClient):
    assert web.get("/c/no-such-coordination", headers=_auth()).status_code == 404
    assert web.get("/c/bad%20id", headers=_auth()).status_code == 400


def test_metrics_count_coordinations_by_status_and_attempts_by_outcome(web: TestClient, world: World):
    exposition = web.get("/metrics", headers=_auth()).text
    families = {family.name: family for family in text_string_to_metric_families(exposition)}
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families.values()
        for sample in family.samples
    }
    assert samples[("coord_store_up", ())] == 1
    assert samples[("coord_coordinations", (("status", "completed"), ("workflow", "alpha")))] == 1  # new1
    assert samples[("coord_coordinations", (("status", "completed"), ("workflow", "beta")))] == 1  # mid
    assert samples[("coord_coordinations", (("status", "cancelled"), ("workflow", "beta")))] == 1  # new2
    assert samples[("coord_coordinations", (("status", "running"), ("workflow", "gamma")))] == 1  # new3
    assert samples[("coord_agent_attempts", (("agent", "a"), ("outcome", "completed"), ("workflow", "alpha")))] == 1
    assert samples[("coord_queue_depth", (("queue", world.queue),))] == 0
    assert samples[("coord_archive_pending_coordinations", ())] >= 3  # mid, new1, new2 finished after the run
    assert samples[("coord_archive_lag_seconds", ())] > 0


def test_coord_watch_prints_a_long_error_whole_instead_of_cutting_it(world: World, monkeypatch: pytest.MonkeyPatch):
    messages: list[tuple[str, str, int]] = []
    monkeypatch.setattr(
        Dispatcher,
        "publish",
        lambda self, task, queue, item, task_id=None: messages.append(
            (item.coordination_id, item.agent_id, item.attempt)
        ),
    )
    long_error = "disk quota exceeded while writing " + "/very/long/path" * 20 + " [/x] END-OF-ERROR"

    def broken(run: AgentRun) -> dict[str, Any]:
        raise RuntimeError(long_error)

    spec = WorkflowSpec.model_validate(
        {"name": "watched", "agents": {"only": {"resources": {"max_retry_attempts": 0}}}}
    )
    coordination_id = submit(spec, input={})
    try:
        while messages:
            cid, agent_id, attempt = messages.pop(0)
            execute_attempt(broken, cid, agent_id, attempt, task_id=f"task-{uuid.uuid4().hex[:8]}")
        assert coordination_status(coordination_id).status == "failed"
        watched = run_cli("watch", coordination_id)
        assert watched.exit_code == 1
        # Rich wraps the line at the terminal's width; the whole error is there, in order.
        assert "".join(long_error.split()) in "".join(watched.stdout.split())
    finally:
        _forget(coordination_id)


def test_without_redis_pages_say_so_with_503_and_metrics_report_the_store_down(world: World, env):
    env(redis_url=f"redis://127.0.0.1:{_closed_port()}/2")
    client = TestClient(create_app([CREDENTIALS], queues=[world.queue]))
    page = client.get(f"/c/{world.ids['new1']}", headers=_auth())
    assert page.status_code == 503 and "could not be read" in page.text
    metrics = {
        sample.name: sample.value
        for family in text_string_to_metric_families(client.get("/metrics", headers=_auth()).text)
        for sample in family.samples
    }
    assert metrics == {"coord_store_up": 0.0}


def test_a_kept_traceback_is_shown_in_full_on_the_page_and_in_the_status(web: TestClient, world: World):
    record = _keys().coordination(world.ids["new1"]).agent("b")
    traceback = 'Traceback (most recent call last):\n  File "agents.py", line 3, in b\nRuntimeError: <boom>'
    sync_client().hset(record, mapping={"traceback": traceback, "error": "RuntimeError: <boom>"})
    try:
        assert coordination_status(world.ids["new1"]).agent("b").traceback == traceback
        page = web.get(f"/c/{world.ids['new1']}", headers=_auth()).text
        shown = re.search(r'<details class="error-detail" data-error="b/1" open>.*?<pre>(.*?)</pre>', page, re.S)
        assert shown, page
        assert shown.group(1) == traceback.replace('"', "&#34;").replace("<", "&lt;").replace(">", "&gt;")
    finally:
        sync_client().hdel(record, "traceback")
        sync_client().hset(record, "error", "")
