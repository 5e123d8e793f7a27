"""``coord graph``: a workflow file or a coordination as DOT, Mermaid, SVG or PNG."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from coordination.cli.common import EXIT_UNAVAILABLE, console, fail, guarded
from coordination.errors import InvalidIdError, InvalidInputError
from coordination.ids import validate_id

if TYPE_CHECKING:
    from coordination.views.graph import WorkflowGraph

#: Output formats: DOT and Mermaid text written by us, SVG and PNG drawn by Graphviz.
FORMATS = ("dot", "mermaid", "svg", "png")


@guarded
def graph(
    source: Annotated[str, typer.Argument(help="A workflow file (.yaml, .yml, .json) or a coordination id.")],
    output_format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="dot, mermaid, svg or png (default: from -o's extension, else dot)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Draw a workflow: agents, what they wait for, branches; coloured by status when given a coordination id."""
    # deferred: SQLAlchemy and graphviz would slow every other `coord` command
    from coordination.views.graph_render import GraphRenderError, render

    chosen = _format(output_format, output)
    drawn = _load(source)
    try:
        data = render(drawn, chosen)
    except GraphRenderError as error:
        raise fail(str(error), EXIT_UNAVAILABLE) from None
    if output is not None:
        output.write_bytes(data)
        console.print(Text(f"{chosen} written to {output}"))
        return
    if chosen == "png" and sys.stdout.isatty():
        raise InvalidInputError("output", "a PNG is not printed on a terminal; write it with -o FILE.png")
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def _format(output_format: str | None, output: Path | None) -> str:
    if output_format is None:
        suffix = output.suffix.lower().lstrip(".") if output is not None else ""
        output_format = (
            {"gv": "dot", "mmd": "mermaid"}.get(suffix, suffix) if suffix in (*FORMATS, "gv", "mmd") else "dot"
        )
    if output_format not in FORMATS:
        raise InvalidInputError("format", f"unknown format {output_format!r}; one of {', '.join(FORMATS)}")
    return output_format


def _load(source: str) -> WorkflowGraph:
    from coordination.views.graph_render import graph_of_coordination, graph_of_file  # deferred: see graph()

    path = Path(source)
    if path.is_dir():
        raise InvalidInputError("source", f"{source} is a directory, not a workflow file")
    if path.is_file():
        return graph_of_file(path)
    try:
        validate_id(source, "source")
    except InvalidIdError:
        raise InvalidInputError("source", f"{source[:80]!r} is neither a workflow file nor a coordination id") from None
    try:
        drawn, _status = graph_of_coordination(source)
    except KeyError as error:
        raise fail(f"no workflow file and no coordination named {source!r} ({error.args[0]})") from None
    return drawn
