"""Where a graph comes from (a workflow file or a coordination) and how it becomes SVG or PNG (Graphviz).

SVG and PNG are drawn by Graphviz's ``dot`` program (Debian package ``graphviz``), driven through the ``graphviz``
Python package; DOT and Mermaid text need neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import graphviz
from pydantic import ValidationError
from sqlalchemy import select

from config.settings import get_settings
from coordination.archive.reader import archive_connection
from coordination.archive.tables import coordinations
from coordination.errors import ArchiveUnavailableError, CoordinationError, InvalidInputError
from coordination.ids import validate_id
from coordination.models.status import CoordinationStatus
from coordination.models.workflow import WorkflowSpec, declared_spec
from coordination.pipeline.records import Records
from coordination.store.keys import Keys
from coordination.views.graph import WorkflowGraph, to_dot, to_mermaid, workflow_graph
from coordination.views.status import coordination_status
from coordination.workflow_file import read_workflow_file

#: Output formats of ``coord graph``: text written here, images drawn by Graphviz.
TEXT_FORMATS = ("dot", "mermaid")
IMAGE_FORMATS = ("svg", "png")


class GraphRenderError(CoordinationError):
    """Graphviz could not draw the graph (``dot`` missing or failing); the message says what to install or fix."""


def graph_of_file(path: str | Path) -> WorkflowGraph:
    """The graph of a workflow file (YAML or JSON), without status.

    Raises:
        WorkflowError: the file is not a valid workflow (the message names the field).
    """
    return workflow_graph(declared_spec(read_workflow_file(path)))


def graph_of_coordination(coordination_id: str) -> tuple[WorkflowGraph, CoordinationStatus]:
    """The graph of a coordination's workflow, coloured by its status (live from Redis, or from the archive).

    Raises:
        InvalidIdError: the id is malformed.
        KeyError: neither Redis nor the archive knows the coordination.
        StoreUnavailableError: Redis could not be reached.
    """
    validate_id(coordination_id, "coordination_id")
    status = coordination_status(coordination_id)
    return workflow_graph(stored_spec(coordination_id), status), status


def stored_spec(coordination_id: str) -> WorkflowSpec:
    """The workflow a coordination was submitted with, from Redis or else the archive.

    Raises:
        KeyError: neither has it.
    """
    settings = get_settings()
    text = Records(Keys(settings.namespace, settings.pipeline_namespace)).workflow_json(coordination_id)
    if text is not None:
        return WorkflowSpec.model_validate_json(text)
    definition = _archived_definition(coordination_id)
    if definition is None:
        raise KeyError(f"no workflow of coordination {coordination_id!r} in Redis or in the archive")
    try:
        return WorkflowSpec.model_validate(definition)
    except ValidationError as error:  # archived by an older version with other fields
        raise KeyError(f"the archived workflow of {coordination_id!r} cannot be read: {error}") from None


def _archived_definition(coordination_id: str) -> Any:
    try:
        with archive_connection() as connection:
            return connection.execute(
                select(coordinations.c.definition).where(coordinations.c.coordination_id == coordination_id)
            ).scalar_one_or_none()
    except ArchiveUnavailableError:
        return None


def render(graph: WorkflowGraph, output_format: str) -> bytes:
    """The graph in ``output_format``: ``dot`` or ``mermaid`` text (UTF-8), or an ``svg`` / ``png`` image.

    Raises:
        InvalidInputError: an unknown format.
        GraphRenderError: Graphviz is missing or failed (SVG and PNG only).
    """
    if output_format == "dot":
        return to_dot(graph).encode()
    if output_format == "mermaid":
        return to_mermaid(graph).encode()
    return render_dot(to_dot(graph), output_format)


def render_dot(dot: str, output_format: str) -> bytes:
    """DOT text drawn by Graphviz as an ``svg`` or ``png`` image.

    Raises:
        InvalidInputError: an unknown format.
        GraphRenderError: Graphviz is missing or failed.
    """
    if output_format not in IMAGE_FORMATS:
        raise InvalidInputError(
            "format", f"unknown format {output_format!r}; one of {', '.join(TEXT_FORMATS + IMAGE_FORMATS)}"
        )
    try:
        image: bytes = graphviz.pipe("dot", output_format, dot.encode(), quiet=True)
        return image
    except graphviz.ExecutableNotFound:
        raise GraphRenderError(
            "Graphviz's `dot` program is not installed (Debian: apt-get install graphviz); "
            "`--format dot` or `--format mermaid` need no Graphviz"
        ) from None
    except graphviz.CalledProcessError as error:
        detail = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        raise GraphRenderError(f"Graphviz failed: {detail[0] if detail else error}") from None
