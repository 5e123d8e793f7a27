"""Reading a workflow file (YAML or JSON) into a plain declaration, refusing in one line what cannot be one.

Every refusal is a :class:`~coordination.errors.WorkflowError` whose field is the file as it was given and whose
problem says what is wrong, with the line and column when the parser knows them::

    examples/bad.yaml: line 7, column 3: duplicate key 'agents' (first at line 2)

What is refused, and why (``docs/security.md`` has the table):

* a file over :data:`~coordination.limits.MAX_WORKFLOW_FILE_BYTES` (1 MiB), a directory, a device or pipe, a
  missing or unreadable file, a binary file (NUL bytes), text that is not UTF-8;
* malformed YAML or JSON, several YAML documents, an empty file;
* YAML anchors and aliases (``&x`` / ``*x``), refused altogether rather than counted: a 1 KB "billion laughs"
  document expands to billions of nodes in whatever walks it next, and a workflow has no need for them;
* any explicit YAML tag (``!!python/object:os.system``, ``!include``, even ``!!str``), merge keys (``<<``), and
  implicit values JSON has no type for (timestamps such as ``2024-01-01``): quote them to keep them as text;
* duplicate keys at any depth, in YAML and in JSON (both parsers would silently keep the last one), and YAML
  keys that are not strings (``1:``, ``true:``, ``null:``);
* nesting deeper than :data:`~coordination.jsonutil.MAX_DEPTH` levels.

Numbers are left to the declaration's model, which names the field: ``timeout: .inf`` or ``"timeout": Infinity``
is refused as ``dependencies[0].timeout: Input should be a finite number``.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.error import MarkedYAMLError

from coordination.errors import WorkflowError
from coordination.jsonutil import MAX_DEPTH
from coordination.limits import MAX_WORKFLOW_FILE_BYTES

#: File name endings read as YAML and as JSON.
YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json",)

_STANDARD_TAG = "tag:yaml.org,2002:"
_STRING_TAG = _STANDARD_TAG + "str"
_MERGE_TAG = _STANDARD_TAG + "merge"
try:  # libyaml's parser when PyYAML was built with it: 30 times faster on a large file
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover (PyYAML built without libyaml)
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

#: Where in the text a problem was found (a yaml Mark of the Python or the C parser: line and column from 0).
_Mark = Any


class _Refused(Exception):
    """A problem found while reading, with where it was found."""

    def __init__(self, problem: str, mark: _Mark | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.mark = mark


def read_workflow_file(path: str | Path) -> dict[str, Any]:
    """Read a ``.yaml``/``.yml`` or ``.json`` workflow file into the declaration it holds.

    Raises:
        WorkflowError: the file cannot be read or is not one workflow declaration; the field is the file and the
            problem says why (see the module docstring).
    """
    file = Path(path)
    where = str(path)
    suffix = file.suffix.lower()
    text = _read_text(file, where, known_suffix=suffix in YAML_SUFFIXES + JSON_SUFFIXES)
    try:
        data = _parse_yaml(text) if suffix in YAML_SUFFIXES else _parse_json(text)
    except _Refused as refused:
        raise WorkflowError(where, _located(refused.problem, refused.mark)) from None
    if data is None:
        raise WorkflowError(where, "is empty; expected a workflow declaration (name, agents, ...)")
    if not isinstance(data, dict):
        raise WorkflowError(where, f"must hold a mapping (name, agents, ...), not a {_kind(data)}")
    return data


def _read_text(file: Path, where: str, known_suffix: bool) -> str:
    try:
        status = file.stat()
    except FileNotFoundError:
        raise WorkflowError(where, "no such file") from None
    except OSError as error:
        raise WorkflowError(where, f"cannot be read ({error.strerror or error})") from None
    if stat.S_ISDIR(status.st_mode):
        raise WorkflowError(where, "is a directory; give the workflow file inside it")
    if not stat.S_ISREG(status.st_mode):
        raise WorkflowError(where, "is not a regular file (a device, pipe or socket)")
    if not known_suffix:
        raise WorkflowError(where, "expected a .yaml, .yml or .json file")
    if status.st_size > MAX_WORKFLOW_FILE_BYTES:
        raise WorkflowError(where, f"is {status.st_size} bytes, over the limit of {MAX_WORKFLOW_FILE_BYTES} bytes")
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_WORKFLOW_FILE_BYTES + 1)  # the file may have grown since stat()
    except OSError as error:
        raise WorkflowError(where, f"cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_WORKFLOW_FILE_BYTES:
        raise WorkflowError(where, f"is over the limit of {MAX_WORKFLOW_FILE_BYTES} bytes")
    if b"\x00" in data:
        raise WorkflowError(where, "is a binary file (it holds NUL bytes), not YAML or JSON text")
    try:
        return data.decode("utf-8-sig")  # a leading byte-order mark is allowed and dropped
    except UnicodeDecodeError as error:
        raise WorkflowError(
            where, f"is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None


# -- YAML --------------------------------------------------------------------------------------------------------


def _parse_yaml(text: str) -> Any:
    try:
        _check_events(text)
        return yaml.load(text, Loader=_WorkflowLoader)  # a safe loader, stricter than SafeLoader
    except MarkedYAMLError as error:
        problem = ", ".join(part for part in (error.context, error.problem) if part)
        raise _Refused(f"not valid YAML: {problem}", error.problem_mark) from None
    except yaml.reader.ReaderError as error:
        shown = f"#x{error.character:04x}" if isinstance(error.character, int) else repr(error.character)
        raise _Refused(f"not valid YAML: {error.reason} ({shown} at offset {error.position})") from None
    except yaml.YAMLError as error:
        raise _Refused(f"not valid YAML: {' '.join(str(error).split())}") from None


def _check_events(text: str) -> None:
    """Refuse anchors, aliases, explicit tags and deep nesting from the event stream, before anything is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                "YAML anchors and aliases (&name, *name) are not accepted in workflow files; write the values out",
                event.start_mark,
            )
        tag = getattr(event, "tag", None)  # None unless the document writes one (!!str, !custom, ...)
        if tag is not None:
            raise _Refused(
                f"YAML tags ({_short(tag)}) are not accepted in workflow files; quote the value to keep it as text",
                event.start_mark,
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep (the limit)", event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _WorkflowLoader(_SafeLoader):
    """The safe loader, limited to what JSON holds: string keys, no duplicates, JSON scalars, no merge keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[str, int] = {}
        for key_node, _value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                raise _Refused("YAML merge keys (<<) are not accepted in workflow files", key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STRING_TAG:
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                raise _Refused(
                    f"mapping keys must be strings, got {shown!r:.40}; quote it if it is meant as text",
                    key_node.start_mark,
                )
            key = str(key_node.value)
            if key in first_line:
                raise _Refused(
                    f"duplicate key {key!r:.60} (first at line {first_line[key]}); the last one would silently win",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_undefined(self, node: yaml.Node) -> Any:
        raise _Refused(f"YAML tags ({_short(node.tag)}) are not accepted in workflow files", node.start_mark)

    def construct_non_json_scalar(self, node: yaml.Node) -> Any:
        kind = node.tag.rsplit(":", 1)[-1]
        raise _Refused(
            f"{node.value!r:.40} reads as a YAML {kind}, which JSON has no type for; quote it to keep it as text",
            node.start_mark,
        )


# Everything the safe loader builds beyond JSON's types is refused (timestamps, binary, sets, omap, pairs, '=').
for _tag in ("timestamp", "binary", "set", "omap", "pairs", "value"):
    _WorkflowLoader.add_constructor(_STANDARD_TAG + _tag, _WorkflowLoader.construct_non_json_scalar)
_WorkflowLoader.add_constructor(None, _WorkflowLoader.construct_undefined)


# -- JSON --------------------------------------------------------------------------------------------------------


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_object_without_duplicates)
    except json.JSONDecodeError as error:
        raise _Refused(f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise _Refused(f"nested more than {MAX_DEPTH} levels deep (the limit)") from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise _Refused(f"not valid JSON: {error}") from None


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"duplicate key {key!r:.60} in a JSON object; the last one would silently win")
        result[key] = value
    return result


# -- messages ----------------------------------------------------------------------------------------------------


def _located(problem: str, mark: _Mark | None) -> str:
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_STANDARD_TAG) if tag.startswith(_STANDARD_TAG) else tag


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )
