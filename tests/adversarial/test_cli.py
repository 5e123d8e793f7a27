"""The ``coord`` command line: bad input is exit code 2 (or 1 for "not found") and one line on stderr, never a
traceback, never an escape sequence or Rich markup acted on; nothing is written.

Commands run in-process through ``typer.testing.CliRunner`` with the pipeline namespace set to the test's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from coordination.cli import app
from tests.adversarial.conftest import BAD_IDS
from tests.adversarial.test_workflow_files import BAD_FILES, write

pytestmark = pytest.mark.redis

#: Ids the shell can pass (no NUL; no lone surrogates in argv).
CLI_BAD_IDS = [value for value in BAD_IDS if "\x00" not in value and "\ud800" not in value and value.strip()]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stdout + result.stderr
    for code_point in ("\x1b", "\x07", "\r", "\x9b"):
        assert code_point not in result.stdout + result.stderr
    return lines[0]


@pytest.mark.parametrize("bad", CLI_BAD_IDS, ids=repr)
@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["status", "--json"],
        ["history", "--no-archive"],
        ["watch"],
        ["cancel"],
        ["resource", "mark", "--global"],
        ["resource", "mark", "--unavailable", "--global"],
        ["resource", "mark", "--", "{id}", "artifact-store"],
        ["resource", "mark", "--", "c-1", "{id}"],
        ["gate", "set", "--global", "--", "{id}", "0.5"],
        ["gate", "set", "--", "{id}", "model-quality", "0.5"],
        ["gate", "set", "--", "c-1", "{id}", "0.5"],
        ["approve", "--by", "me", "--", "{id}", "release-approval"],
    ],
    ids=lambda command: " ".join(command),
)
def test_ids_that_cannot_be_keys_are_refused_in_one_line(command, bad, pipeline_namespace, store):
    args = [part.replace("{id}", bad) for part in command] if "{id}" in command else [*command, "--", bad]
    if command[:1] == ["status"] and "--json" in command:
        args = ["status", "--json", "--", bad]
    with store.unchanged():
        line = assert_one_line_error(run(*args))
    assert "_id: " in line or "gate: " in line  # names the field: coordination_id, resource_id, gate_id, gate


@pytest.mark.parametrize(
    ("score", "words"),
    [
        ("abc", "'abc' is not a number"),
        ("", "is not a number"),
        ("nan", "between 0 and 1"),
        ("inf", "between 0 and 1"),
        ("-inf", "between 0 and 1"),
        ("1.5", "between 0 and 1"),
        ("-0.5", "between 0 and 1"),
        ("1e999", "between 0 and 1"),
        ("0x1", "is not a number"),
        ("[/x]", "is not a number"),
    ],
)
def test_gate_scores_that_are_not_numbers_from_0_to_1_are_refused(score, words, pipeline_namespace, store):
    with store.unchanged():
        line = assert_one_line_error(run("gate", "set", "--global", "--", "model-quality", score))
    assert line.startswith("error: score: ") and words in line


def test_a_negative_score_without_the_double_dash_is_a_score_not_an_option(pipeline_namespace, store):
    with store.unchanged():
        line = assert_one_line_error(run("gate", "set", "c-1", "model-quality", "-0.1"))
    assert line == "error: score: must be between 0 and 1, got -0.1"


@pytest.mark.parametrize(("case", "file_name", "content", "field", "words"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_submitting_a_bad_file_is_one_line_naming_the_file(
    case, file_name, content, field, words, tmp_path, pipeline_namespace, store
):
    path = write(tmp_path, file_name, content)
    with store.unchanged():
        line = assert_one_line_error(run("submit", str(path)))
    assert line.startswith(f"error: {path}: ")
    if field != "FILE":
        assert line.startswith(f"error: {path}: {field}: ")
    assert words in line


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda folder: (folder / "wf.yaml").mkdir(), "is a directory"),
        (lambda folder: None, "no such file"),
    ],
    ids=["directory", "missing"],
)
def test_submitting_what_is_not_a_file_says_what_it_is(make, words, tmp_path, pipeline_namespace, store):
    make(tmp_path)
    with store.unchanged():
        line = assert_one_line_error(run("submit", str(tmp_path / "wf.yaml")))
    assert words in line


def test_a_module_that_cannot_be_imported_is_named_and_the_current_directory_is_not_searched(
    tmp_path, pipeline_namespace, store, monkeypatch
):
    (tmp_path / "local_agents_mod.py").write_text("")
    path = write(tmp_path, "wf.yaml", "name: wf\nmodules: [local_agents_mod]\nagents: {a: {}}\n")
    monkeypatch.chdir(tmp_path)
    with store.unchanged():
        line = assert_one_line_error(run("submit", str(path)))
    assert "modules[0]: module 'local_agents_mod' was not found" in line


def test_import_path_adds_only_the_directory_given(tmp_path, pipeline_namespace, store, monkeypatch):
    """The module is found through --import-path; its agent is not registered, so nothing is submitted."""
    (tmp_path / "agents_elsewhere_mod.py").write_text("")
    path = write(tmp_path, "wf.yaml", "name: wf\nmodules: [agents_elsewhere_mod]\nagents: {lonely-agent: {}}\n")
    monkeypatch.setattr("sys.path", list(__import__("sys").path))  # the command changes the import path
    with store.unchanged():
        line = assert_one_line_error(run("submit", str(path), "--import-path", str(tmp_path)))
    assert "agents.lonely-agent.task: no @agent('lonely-agent') is registered" in line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--input", "{bad json"], "input: not valid JSON"),
        (["--input", "[1, 2"], "input: not valid JSON"),
        (["--import-path", "/no/such/directory"], "--import-path: /no/such/directory: not a directory"),
    ],
)
def test_bad_submit_options_are_refused_before_anything_is_written(args, words, tmp_path, pipeline_namespace, store):
    path = write(tmp_path, "wf.yaml", "name: wf\nagents: {a: {}}\n")
    with store.unchanged():
        line = assert_one_line_error(run("submit", str(path), *args))
    assert words in line


@pytest.mark.parametrize(
    "reason",
    ["\x1b]0;owned\x07", "\x1b[2J", "[/x]", "[bold red]fake[/]", "line\nbreak", "cr\roverwrite"],
    ids=repr,
)
def test_cancelling_an_unknown_coordination_with_a_hostile_reason_is_one_clean_line(reason, pipeline_namespace, store):
    with store.unchanged():
        line = assert_one_line_error(run("cancel", "wf-000000000000", "--reason", reason), code=1)
    assert "wf-000000000000" in line


@pytest.mark.parametrize("command", [["status"], ["history", "--no-archive"], ["watch"]])
def test_an_unknown_coordination_is_exit_1_in_one_line(command, pipeline_namespace, store, monkeypatch):
    monkeypatch.setenv("COORD_DATABASE_URL", "sqlite:///" + str(Path("/nonexistent/archive.db")))
    from config.settings import reload_settings

    reload_settings()
    with store.unchanged():
        line = assert_one_line_error(run(*command, "wf-000000000000"), code=1)
    assert "wf-000000000000" in line


@pytest.fixture
def running_coordination(pipeline_namespace, monkeypatch):
    """A submitted coordination nobody works on (its first message waits in a queue of the test's own)."""
    from config.settings import reload_settings
    from coordination import Workflow
    from tests.conftest import forget_queue

    queue = f"adversarial-{pipeline_namespace}"
    monkeypatch.setenv("COORD_TASK_QUEUE", queue)
    reload_settings()
    workflow = Workflow(name="hostile", agents={"a": {}, "b": {"depends_on": ["a"]}})
    coordination_id = workflow.submit(check_agents=False)
    yield coordination_id
    forget_queue(queue)


@pytest.mark.parametrize(
    "reason",
    ["\x1b]0;owned\x07 retitled", "\x1b[2J cleared", "[/x] closing tag", "[fr] swallowed", "line\nbreak"],
    ids=repr,
)
def test_the_cancel_echo_and_the_status_show_the_reason_escaped(reason, running_coordination):
    from coordination.cli.safe import plain

    cancelled = run("cancel", running_coordination, "--reason", reason)
    assert cancelled.exit_code == 0, cancelled.stderr
    shown = run("status", running_coordination)
    assert shown.exit_code == 1, shown.stderr  # a cancelled coordination did not end well
    for result in (cancelled, shown):
        for code_point in ("\x1b", "\x07", "\r"):
            assert code_point not in result.stdout
    assert f"cancelled: {plain(reason.strip())}" in cancelled.stdout
    # The summary line shows the reason too (escaped; Rich may wrap it where it had a space).
    assert " ".join(plain(reason.strip()).split()) in " ".join(shown.stdout.split())
