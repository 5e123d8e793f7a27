"""Workflow files: what cannot be one declaration is refused in one line naming the file, before anything is built."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from coordination import Workflow, WorkflowError
from coordination.limits import MAX_WORKFLOW_FILE_BYTES
from coordination.workflow_file import read_workflow_file

MINIMAL_YAML = "name: wf\nagents:\n  a: {}\n"


def refusal(path: Path) -> WorkflowError:
    with pytest.raises(WorkflowError) as refused:
        Workflow.from_file(path)
    assert "\n" not in str(refused.value)  # one line
    return refused.value


def test_a_valid_yaml_file_and_its_json_twin_give_the_same_declaration(tmp_path):
    (tmp_path / "wf.yaml").write_text(MINIMAL_YAML)
    (tmp_path / "wf.json").write_text(json.dumps({"name": "wf", "agents": {"a": {}}}))
    assert Workflow.from_file(tmp_path / "wf.yaml").spec == Workflow.from_file(tmp_path / "wf.json").spec


def test_a_byte_order_mark_is_allowed(tmp_path):
    (tmp_path / "wf.yaml").write_bytes(b"\xef\xbb\xbf" + MINIMAL_YAML.encode())
    assert Workflow.from_file(tmp_path / "wf.yaml").name == "wf"


def test_a_billion_laughs_document_is_refused_at_the_first_anchor_in_no_time(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size < 1024
    started = time.process_time()
    refused = refusal(path)
    assert time.process_time() - started < 1.0  # not a measurement: the expansion would take minutes
    assert refused.field == str(path)
    assert "line 1, column 5: YAML anchors and aliases" in refused.problem


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("name: !!python/object/apply:os.system ['true']\n", "line 1, column 7", "YAML tags (!!python/object/apply"),
        ("name: !include other.yaml\n", "line 1, column 7", "YAML tags (!include)"),
        ("name: !!str wf\n", "line 1, column 7", "YAML tags (!!str)"),
        ("agents: !!map {a: {}}\n", "line 1, column 9", "YAML tags (!!map)"),
        ("name: wf\nagents: {a: {}}\nname: again\n", "line 3, column 1", "duplicate key 'name' (first at line 1)"),
        ("agents:\n  a:\n    input_data: {x: 1, x: 2}\n", "line 3, column 24", "duplicate key 'x'"),
        ("<<: {name: wf}\n", "line 1, column 1", "merge keys"),
        ("name: wf\n1: x\n", "line 2, column 1", "mapping keys must be strings, got '1'"),
        ("name: wf\ntrue: x\n", "line 2, column 1", "mapping keys must be strings"),
        ("? [a, b]\n: x\n", "line 1, column 3", "mapping keys must be strings"),
        ("agents: {a: {input_data: {when: 2024-01-01}}}\n", "line 1, column 33", "YAML timestamp"),
        ("name: [unclosed\n", "line 2, column 1", "not valid YAML"),
        ("name: wf\n---\nname: other\n", "line 2, column 1", "expected a single document"),
        ("x: " + "[" * 70 + "]" * 70 + "\n", "line 1, column 67", "nested more than 64 levels"),
        ("name: wf\n\tagents: {}\n", "line 2", "not valid YAML"),
    ],
)
def test_yaml_that_cannot_be_a_plain_declaration_is_refused_with_line_and_column(tmp_path, text, where, problem):
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    refused = refusal(path)
    assert refused.field == str(path)
    assert refused.problem.startswith(where)
    assert problem in refused.problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"name": "wf", "name": "other"}', "duplicate key 'name'"),
        ('{"name": "wf", "agents": {"a": {"input_data": {"k": 1, "k": 2}}}}', "duplicate key 'k'"),
        ('{"name": ', "not valid JSON: Expecting value (line 1, column 10)"),
        ("[" * 100_000 + "]" * 100_000, "nested more than 64 levels"),
        ('{"n": ' + "9" * 5000 + "}", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_json_that_cannot_be_a_plain_declaration_is_refused(tmp_path, text, problem):
    path = tmp_path / "wf.json"
    path.write_text(text)
    refused = refusal(path)
    assert refused.field == str(path)
    assert problem in refused.problem


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("big.yaml", b"a" * (MAX_WORKFLOW_FILE_BYTES + 1), f"over the limit of {MAX_WORKFLOW_FILE_BYTES} bytes"),
        ("bin.yaml", b"name: wf\x00\x01\x02", "binary file"),
        ("latin1.yaml", "name: café\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 9)"),
        ("empty.yaml", b"", "is empty"),
        ("comment.yaml", b"# nothing here\n", "is empty"),
        ("list.yaml", b"- a\n- b\n", "must hold a mapping (name, agents, ...), not a list"),
        ("scalar.json", b'"wf"', "not a string"),
        ("wf.txt", MINIMAL_YAML.encode(), "expected a .yaml, .yml or .json file"),
        ("wf", MINIMAL_YAML.encode(), "expected a .yaml, .yml or .json file"),
    ],
)
def test_files_that_are_not_one_declaration_are_refused_naming_the_file(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    refused = refusal(path)
    assert refused.field == str(path)
    assert problem in refused.problem


def test_a_directory_says_it_is_a_directory(tmp_path):
    folder = tmp_path / "workflow.yaml"
    folder.mkdir()
    assert refusal(folder).problem == "is a directory; give the workflow file inside it"


def test_a_missing_file_says_so(tmp_path):
    assert refusal(tmp_path / "missing.yaml").problem == "no such file"


def _problem_as_nobody(path: Path) -> str:
    """The refusal's problem, read in a forked child that runs as ``nobody`` (root reads every file)."""
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: already has every module loaded, so it needs no file under /root
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                Workflow.from_file(path)
                answer = "read"
            except WorkflowError as error:
                answer = error.problem
            os.write(writer, answer.encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as stream:
        answer = stream.read()
    os.waitpid(child, 0)
    return answer


def test_an_unreadable_file_says_why(tmp_path):
    path = tmp_path / "secret.yaml"
    path.write_text(MINIMAL_YAML)
    path.chmod(0)
    if os.geteuid() != 0:
        assert "cannot be read (Permission denied)" in refusal(path).problem
        return
    for folder in (tmp_path, *tmp_path.parents):  # nobody may pass through pytest's folders, not read the file
        if not folder.stat().st_mode & 0o001:
            folder.chmod(folder.stat().st_mode | 0o001)
    assert "cannot be read (Permission denied)" in _problem_as_nobody(path)


def test_a_device_is_not_read(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    assert "not a regular file" in refusal(link).problem


def test_numbers_are_left_to_the_model_which_names_the_field(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text(
        "name: wf\nagents: {a: {}}\ndependencies: [{id: d, agent: a, type: quality_gate, target: g, timeout: .inf}]\n"
    )
    refused = refusal(path)
    assert refused.field == "dependencies[0].timeout"
    assert "finite" in refused.problem
    (tmp_path / "wf.json").write_text(
        '{"name": "wf", "agents": {"a": {}}, "routing": {"weights": {"priority": -Infinity}}}'
    )
    assert refusal(tmp_path / "wf.json").field == "routing.weights.priority"


def test_reading_refuses_before_parsing_anything_bigger_than_the_limit(tmp_path):
    path = tmp_path / "wf.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * MAX_WORKFLOW_FILE_BYTES)  # sparse: nothing is read
    assert "over the limit" in refusal(path).problem


def test_the_reader_returns_the_plain_declaration(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text(MINIMAL_YAML + "description: 'Infinity'\n")
    assert read_workflow_file(path) == {"name": "wf", "agents": {"a": {}}, "description": "Infinity"}
