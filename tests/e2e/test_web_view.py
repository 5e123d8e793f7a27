"""The web view as a person uses it: `coord ui` in its own process, a real pipeline, a real headless Chromium.

The module's worker and beat run a workflow with a retried agent, a failing one and a skipped one; the browser
opens the coordination's page while it runs and, without reloading, ends up showing every agent with the status
the records hold. ``/metrics`` is then parsed with prometheus_client's own parser.

Screenshots are written to ``$COORD_TEST_SCREENSHOTS`` (or the test's tmp directory) so they can be looked at.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from coordination import Workflow
from tests.e2e.conftest import ROOT, wait_finished

CREDENTIALS = ("operator", "web-view-s3cret")

WORKFLOW = Workflow(
    name="watched",
    agents={
        "fetch": {"task": "e2e-step"},
        "flaky": {"task": "e2e-step", "depends_on": ["fetch"], "resources": {"max_retry_attempts": 2}},
        "broken": {"task": "e2e-step", "depends_on": ["fetch"]},
        "after-broken": {"task": "e2e-step", "depends_on": ["broken"]},
        "report": {"task": "e2e-step", "depends_on": ["flaky"]},
    },
)
INPUT = {
    "fetch": {"sleep": 3.0},
    "flaky": {"fail_attempts": 1, "sleep": 0.3},
    "broken": {"fail_attempts": 99},
    "report": {"sleep": 0.5},
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, credentials: tuple[str, str] | None = CREDENTIALS) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if credentials:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + " -- required when CI is set", pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def web_view(pipeline_services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`coord ui` on a free port, with the module's queue and namespace and basic-auth credentials."""
    port = _free_port()
    log = tmp_path_factory.mktemp("web") / "ui.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "coordination.cli", "ui", "--port", str(port)],
            env={
                **pipeline_services.environment,
                "COORD_FLOWER_BASIC_AUTH": ":".join(CREDENTIALS),
                "COORD_FLOWER_URL": "http://flower.invalid:5555",
            },
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if _get(f"{url}/healthz", None)[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError(f"coord ui did not start:\n{log.read_text()}")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_coord_ui_refuses_to_start_without_credentials(pipeline_services):
    environment = {
        key: value for key, value in pipeline_services.environment.items() if key != "COORD_FLOWER_BASIC_AUTH"
    }
    refused = subprocess.run(
        [sys.executable, "-m", "coordination.cli", "ui", "--port", str(_free_port())],
        env={**environment, "COORD_FLOWER_BASIC_AUTH": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "COORD_FLOWER_BASIC_AUTH" in refused.stderr and "--insecure-no-auth" in refused.stderr


def test_the_page_of_a_running_coordination_follows_it_live_to_every_agents_true_status(web_view, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("COORD_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    assert _get(f"{web_view}/", None)[0] == 401
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            context = browser.new_context(
                http_credentials={"username": CREDENTIALS[0], "password": CREDENTIALS[1]},
                viewport={"width": 1300, "height": 1500},
            )
            page = context.new_page()
            coordination_id = WORKFLOW.submit(input=INPUT)
            page.goto(f"{web_view}/c/{coordination_id}")
            assert page.locator("#coordination-status").inner_text() == "running"
            first = {
                row.get_attribute("data-agent"): row.locator(".agent-status").inner_text()
                for row in page.locator("tr[data-agent]").all()
            }
            assert first["report"] in ("waiting", "queued"), first
            page.evaluate("window.loadedOnce = true")  # gone if the page reloads
            page.screenshot(path=str(shots / "web-view-running.png"), full_page=True)

            # The page's own script swaps in the live part; nothing here reloads it (CSP forbids eval, so a locator).
            page.locator('#coordination-status:not([data-status="running"])').wait_for(timeout=90_000)
            assert page.evaluate("window.loadedOnce") is True, "the page reloaded instead of updating itself"
            truth = wait_finished(coordination_id)
            shown = {
                row.get_attribute("data-agent"): row.locator(".agent-status").inner_text()
                for row in page.locator("tr[data-agent]").all()
            }
            assert shown == {agent.agent_id: agent.status for agent in truth.agents}
            assert shown == {
                "fetch": "completed",
                "flaky": "completed",
                "broken": "failed",
                "after-broken": "skipped",
                "report": "completed",
            }
            assert page.locator("#coordination-status").inner_text() == truth.status == "failed"
            # The graph is coloured, the timeline has both attempts of the retried agent, the error is shown.
            assert page.locator(".graph svg g.node").count() == 5
            outcomes = [row.get_attribute("data-outcome") for row in page.locator('tr[data-attempt^="flaky/"]').all()]
            assert outcomes == ["retrying", "completed"]
            assert "planned failure" in page.locator('details[data-error^="broken/"]').first.inner_text()
            link = page.locator('tr[data-agent="fetch"] a').get_attribute("href")
            assert link == f"http://flower.invalid:5555/task/{truth.agent('fetch').task_id}"
            page.screenshot(path=str(shots / "web-view-finished.png"), full_page=True)

            page.goto(f"{web_view}/?workflow=watched")
            row = page.locator(f'tr[data-coordination="{coordination_id}"]')
            assert row.locator(".badge").inner_text() == "failed"
            page.screenshot(path=str(shots / "web-view-list.png"), full_page=True)
        finally:
            browser.close()


def test_metrics_after_a_real_run_count_what_happened(web_view, pipeline_services):
    coordination_id = WORKFLOW.submit(input={**INPUT, "fetch": {"sleep": 0}})
    assert wait_finished(coordination_id, timeout=60).status == "failed"
    assert _get(f"{web_view}/metrics", None)[0] == 401
    status, exposition = _get(f"{web_view}/metrics")
    assert status == 200
    families = {family.name: family for family in text_string_to_metric_families(exposition)}
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families.values()
        for sample in family.samples
    }
    failed = samples[("coord_coordinations", (("status", "failed"), ("workflow", "watched")))]
    assert failed >= 1

    def attempts(agent: str, outcome: str) -> float:
        return samples.get(
            ("coord_agent_attempts", (("agent", agent), ("outcome", outcome), ("workflow", "watched"))), 0
        )

    runs = failed  # every "watched" run in this module ends the same way
    assert attempts("flaky", "retrying") == runs and attempts("flaky", "completed") == runs
    assert attempts("broken", "failed") == runs and attempts("fetch", "completed") == runs
    assert attempts("after-broken", "completed") == 0  # skipped without running: not an attempt
    flaky_runs = samples[("coord_agent_attempt_duration_seconds_gcount", (("agent", "flaky"), ("workflow", "watched")))]
    assert flaky_runs == 2 * runs
    assert samples[("coord_dependency_wait_seconds_gcount", (("type", "agent_completion"),))] >= 3 * runs
    queue = pipeline_services.environment["COORD_TASK_QUEUE"]
    assert samples[("coord_queue_depth", (("queue", queue),))] == 0
    assert ("coord_due_checks", ()) in samples and samples[("coord_due_checks_overdue", ())] == 0
    assert ("coord_archive_lag_seconds", ()) in samples
    # Gauge histograms (they shrink when coordinations expire): the text format writes _gcount and _gsum.
    assert ("coord_agent_attempt_duration_seconds_gsum", (("agent", "flaky"), ("workflow", "watched"))) in samples
