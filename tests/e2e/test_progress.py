"""Progress and streamed text from a real worker's agent reach ``coord watch``, ``coord status`` and the web view."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from coordination import Workflow, coordination_status
from tests.e2e import test_web_view
from tests.e2e.conftest import wait_finished
from tests.e2e.test_cli import ROOT
from tests.e2e.test_web_view import CREDENTIALS, _chromium

web_view = test_web_view.web_view  # the fixture: `coord ui` in its own process


def test_coord_watch_and_status_show_a_running_agents_progress_and_text(pipeline_services):
    coordination_id = Workflow(name="talk", agents={"talker": {"task": "e2e-talker"}}).submit(
        input={"talker": {"words": 4, "pause": 1.0}}
    )
    watch = subprocess.Popen(
        [sys.executable, "-m", "coordination.cli", "watch", coordination_id],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        # While the agent runs, its status shows the latest progress and the text so far.
        deadline = time.monotonic() + 30
        live = coordination_status(coordination_id).agent("talker")
        while live.progress is None or live.progress < 0.5:
            assert time.monotonic() < deadline, live
            time.sleep(0.05)
            live = coordination_status(coordination_id).agent("talker")
        assert live.status == "running" and live.progress_message and live.output and live.output.startswith("word0")
        shown = subprocess.run(
            [sys.executable, "-m", "coordination.cli", "status", coordination_id, "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        talker = next(a for a in json.loads(shown.stdout)["agents"] if a["agent_id"] == "talker")
        assert talker["progress"] >= 0.5 and talker["output"].startswith("word0 ")

        out, err = watch.communicate(timeout=60)
    finally:
        if watch.poll() is None:
            watch.kill()
    assert watch.returncode == 0, err
    assert wait_finished(coordination_id).status == "completed"
    lines = out.splitlines()
    progress = [line for line in lines if "agent_progress" in line]
    assert len(progress) == 4 and "100%" in progress[-1] and "wrote word3" in progress[-1]
    assert "50%" in progress[1]
    streamed = [line for line in lines if "agent_stream" in line]
    assert [line.split()[-1] for line in streamed] == ["word0", "word1", "word2", "word3"]


def test_the_web_page_of_a_running_coordination_shows_progress_and_the_streamed_text(web_view, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("COORD_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    coordination_id = Workflow(
        name="talk-web",
        agents={"talker": {"task": "e2e-talker"}, "after": {"task": "e2e-step", "depends_on": ["talker"]}},
    ).submit(input={"talker": {"words": 6, "pause": 1.0}})
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(
                http_credentials={"username": CREDENTIALS[0], "password": CREDENTIALS[1]},
                viewport={"width": 1200, "height": 900},
            )
            page = context.new_page()
            page.goto(f"{web_view}/c/{coordination_id}")
            # The page refreshes its live part by itself: the progress of the running agent appears, then grows.
            page.locator('tr[data-agent="talker"] td.progress progress').wait_for(timeout=30_000)
            page.locator('tr[data-output="talker"] pre.stream:has-text("word2")').wait_for(timeout=30_000)
            cell = page.locator('tr[data-agent="talker"] td.progress').inner_text()
            assert "%" in cell and "wrote word" in cell
            page.screenshot(path=str(shots / "web-view-progress.png"), full_page=True)
            page.locator('#coordination-status[data-status="completed"]').wait_for(timeout=60_000)
            assert page.locator('tr[data-agent="talker"] td.progress progress').count() == 0  # finished: no bar
            assert "word5" in page.locator('tr[data-output="talker"] pre.stream').inner_text()
        finally:
            browser.close()
    assert wait_finished(coordination_id).status == "completed"
