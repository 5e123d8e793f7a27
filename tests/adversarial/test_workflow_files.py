"""Workflow files on disk: each bad file is one WorkflowError naming the file (or the declaration's field).

The same files go through ``coord submit`` in ``test_cli.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coordination import Workflow, WorkflowError
from coordination.limits import MAX_WORKFLOW_FILE_BYTES

pytestmark = pytest.mark.redis

GOOD_YAML = "name: wf\nagents:\n  a: {}\n"
LAUGHS = "\n".join(
    ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 9)]
)

#: (name, file name, content, the error's field: "FILE" for the file itself, else the declaration's field, words)
BAD_FILES: list[tuple[str, str, bytes | str, str, str]] = [
    ("alias bomb", "wf.yaml", LAUGHS, "FILE", "anchors and aliases"),
    ("one alias", "wf.yaml", "name: &n wf\nagents: {a: {description: *n}}\n", "FILE", "anchors and aliases"),
    ("python object tag", "wf.yaml", "name: !!python/object/apply:os.system ['id']\n", "FILE", "YAML tags"),
    ("python name tag", "wf.yaml", "name: !!python/name:os.system\n", "FILE", "YAML tags"),
    ("custom tag", "wf.yaml", "name: !env HOME\n", "FILE", "YAML tags (!env)"),
    ("set tag", "wf.yaml", "name: wf\nagents: !!set {a}\n", "FILE", "YAML tags"),
    ("binary tag", "wf.yaml", "name: !!binary aGVsbG8=\n", "FILE", "YAML tags"),
    ("duplicate top key", "wf.yaml", GOOD_YAML + "name: other\n", "FILE", "duplicate key 'name'"),
    ("duplicate deep key", "wf.yaml", "name: wf\nagents:\n  a: {}\n  a: {}\n", "FILE", "duplicate key 'a'"),
    ("merge key", "wf.yaml", "base: {x: 1}\n<<: {name: wf}\n", "FILE", "merge keys"),
    ("timestamp", "wf.yaml", "name: wf\ndescription: 2024-01-01 10:00:00\n", "FILE", "timestamp"),
    ("integer key", "wf.yaml", "name: wf\nagents: {1: {}}\n", "FILE", "keys must be strings"),
    ("null key", "wf.yaml", "name: wf\n~: x\n", "FILE", "keys must be strings"),
    ("two documents", "wf.yaml", GOOD_YAML + "---\n" + GOOD_YAML, "FILE", "single document"),
    ("malformed yaml", "wf.yaml", "name: [wf\nagents: {\n", "FILE", "not valid YAML"),
    ("tab indentation", "wf.yaml", "name: wf\nagents:\n\ta: {}\n", "FILE", "not valid YAML"),
    ("deep yaml", "wf.yaml", "name: " + "[" * 80 + "]" * 80 + "\n", "FILE", "more than 64 levels"),
    ("control character", "wf.yaml", "name: wf\x07\n", "FILE", "not valid YAML"),
    ("empty", "wf.yaml", "", "FILE", "is empty"),
    ("only a comment", "wf.yaml", "# todo\n", "FILE", "is empty"),
    ("a list", "wf.yaml", "- name: wf\n", "FILE", "not a list"),
    ("a string", "wf.yaml", "just text\n", "FILE", "not a string"),
    ("binary", "wf.yaml", b"\x7fELF\x02\x01\x01\x00\x00", "FILE", "binary"),
    ("latin-1", "wf.yaml", "name: wf\ndescription: déjà\n".encode("latin-1"), "FILE", "not UTF-8"),
    ("utf-16", "wf.yaml", GOOD_YAML.encode("utf-16"), "FILE", ""),
    ("too big", "wf.yaml", "# " + "x" * MAX_WORKFLOW_FILE_BYTES + "\n" + GOOD_YAML, "FILE", "over the limit"),
    ("wrong suffix", "wf.toml", GOOD_YAML, "FILE", "expected a .yaml"),
    ("duplicate json key", "wf.json", '{"name": "wf", "agents": {"a": {}}, "name": "x"}', "FILE", "duplicate key"),
    ("duplicate deep json key", "wf.json", '{"name": "wf", "agents": {"a": {}, "a": {}}}', "FILE", "duplicate key"),
    ("malformed json", "wf.json", '{"name": "wf",}', "FILE", "not valid JSON"),
    ("deep json", "wf.json", "[" * 50_000 + "]" * 50_000, "FILE", "more than 64 levels"),
    ("huge json integer", "wf.json", '{"name": ' + "1" * 5000 + "}", "FILE", "not valid JSON"),
    ("json list", "wf.json", "[1, 2]", "FILE", "not a list"),
    (
        "yaml .inf timeout",
        "wf.yaml",
        GOOD_YAML + "dependencies: [{id: d, agent: a, type: quality_gate, target: g, timeout: .inf}]\n",
        "dependencies[0].timeout",
        "finite",
    ),
    (
        "yaml .nan threshold",
        "wf.yaml",
        GOOD_YAML + "dependencies: [{id: d, agent: a, type: quality_gate, target: g, threshold: .nan}]\n",
        "dependencies[0].threshold",
        "finite",
    ),
    (
        "yaml 1e308 timeout",
        "wf.yaml",
        GOOD_YAML + "dependencies: [{id: d, agent: a, type: quality_gate, target: g, timeout: 1e308}]\n",
        "dependencies[0].timeout",
        "less than or equal",
    ),
    (
        "json Infinity rule value",
        "wf.json",
        json.dumps(
            {
                "name": "wf",
                "agents": {"a": {}},
                "routing": {
                    "rules": [
                        {
                            "rule_id": "r",
                            "name": "n",
                            "condition_key": "q",
                            "condition_operator": "<",
                            "condition_value": 1,
                            "decision": "retry",
                        }
                    ]
                },
            }
        ).replace('"condition_value": 1', '"condition_value": Infinity'),
        "routing.rules[0].condition_value",
        "finite",
    ),
    (
        "json -Infinity weight",
        "wf.json",
        '{"name": "wf", "agents": {"a": {}}, "routing": {"weights": {"priority": -Infinity}}}',
        "routing.weights.priority",
        "finite",
    ),
    (
        "negative weight",
        "wf.yaml",
        GOOD_YAML + "routing: {weights: {conditional: -0.5}}\n",
        "routing.weights.conditional",
        "greater than or equal",
    ),
    (
        "retry attempts",
        "wf.yaml",
        "name: wf\nagents: {a: {resources: {max_retry_attempts: 100000000}}}\n",
        "agents.a.resources.max_retry_attempts",
        "less than or equal to 100",
    ),
    ("relative module", "wf.yaml", GOOD_YAML + "modules: [.agents]\n", "modules[0]", "relative"),
    ("path module", "wf.yaml", GOOD_YAML + "modules: [pkg/agents.py]\n", "modules[0]", "path"),
    ("empty module", "wf.yaml", GOOD_YAML + "modules: ['']\n", "modules[0]", "empty"),
    (
        "json surrogate",
        "wf.json",
        '{"name": "wf", "description": "\\ud800", "agents": {"a": {}}}',
        "description",
        "surrogate",
    ),
    (
        "json huge input integer",
        "wf.json",
        '{"name": "wf", "agents": {"a": {"input_data": {"n": 99999999999999999}}}}',
        "agents.a.input_data.n",
        "2**53 - 1",
    ),
]


def write(folder: Path, file_name: str, content: bytes | str) -> Path:
    path = folder / file_name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize(("case", "file_name", "content", "field", "words"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_bad_workflow_file_is_one_error_naming_the_file_or_the_field(
    case, file_name, content, field, words, tmp_path, store
):
    path = write(tmp_path, file_name, content)
    with store.unchanged(), pytest.raises(WorkflowError) as raised:
        Workflow.from_file(path)
    expected = str(path) if field == "FILE" else field
    assert raised.value.field == expected
    assert words in raised.value.problem
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "make", "words"),
    [
        ("directory", lambda folder: (folder / "wf.yaml").mkdir(), "is a directory"),
        ("missing", lambda folder: None, "no such file"),
        ("device", lambda folder: (folder / "wf.yaml").symlink_to("/dev/urandom"), "not a regular file"),
        ("fifo", lambda folder: __import__("os").mkfifo(folder / "wf.yaml"), "not a regular file"),
        ("dangling link", lambda folder: (folder / "wf.yaml").symlink_to(folder / "gone.yaml"), "no such file"),
    ],
)
def test_things_that_are_not_files_say_what_they_are(name: str, make: Any, words: str, tmp_path, store):
    make(tmp_path)
    with store.unchanged(), pytest.raises(WorkflowError) as raised:
        Workflow.from_file(tmp_path / "wf.yaml")
    assert raised.value.field == str(tmp_path / "wf.yaml")
    assert words in raised.value.problem
