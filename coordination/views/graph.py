"""A workflow as a picture: agents, what they wait for, where branches lead; coloured by status when known.

:func:`workflow_graph` turns a :class:`WorkflowSpec` (and, for a coordination, its status) into nodes and edges;
:func:`to_dot` and :func:`to_mermaid` write them as Graphviz DOT or Mermaid text. Both are written here (no
library), with every label escaped for its language, so the text is safe to hand to Graphviz or a Markdown page.

- an agent is a box, filled with its status's colour; a branch target (``start: on_branch``) has a dashed border;
- an agent waiting for another's completion gets a solid arrow from it;
- a resource (cylinder), quality gate (diamond, edge labelled with the threshold) or approval (hexagon) is a node
  of its own, with an arrow to each agent that waits for it, coloured by the dependencies' status;
- a routing rule that branches draws a dashed arrow from the agents it applies to, labelled with its condition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from coordination.models.routing import RoutingDecision
from coordination.models.status import CoordinationStatus
from coordination.models.statuses import STATUS_COLOURS
from coordination.models.workflow import WorkflowSpec

NodeKind = Literal["agent", "resource", "gate", "approval", "other"]
EdgeKind = Literal["completion", "dependency", "branch"]

_KIND_OF_TYPE: dict[str, NodeKind] = {
    "resource_availability": "resource",
    "quality_gate": "gate",
    "approval": "approval",
}
_DOT_SHAPE = {"agent": "box", "resource": "cylinder", "gate": "diamond", "approval": "hexagon", "other": "ellipse"}
# Statuses whose fill is dark enough to need white text.
_DARK = frozenset(
    {"completed", "failed", "timed_out", "lost", "skipped", "cancelled", "retrying", "resolved", "timeout"}
)


@dataclass(frozen=True)
class Node:
    """One node: an agent, or a resource / gate / approval that agents wait for."""

    node_id: str
    label: str
    kind: NodeKind
    status: str | None = None
    on_branch: bool = False
    detail: str = ""


@dataclass(frozen=True)
class Edge:
    """An arrow from what is waited for (or branched from) to the agent that waits (or is branched to)."""

    source: str
    target: str
    kind: EdgeKind
    label: str = ""


@dataclass(frozen=True)
class WorkflowGraph:
    """A workflow's nodes and edges, in the workflow's dependency order."""

    name: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    title: str = ""


def workflow_graph(spec: WorkflowSpec, status: CoordinationStatus | None = None) -> WorkflowGraph:
    """The graph of ``spec``; with ``status``, agents and dependency nodes carry their live status."""
    agent_status = {agent.agent_id: agent for agent in (status.agents if status else [])}
    dependency_status = {item.dependency_id: item.status for item in (status.dependencies if status else [])}
    graph = WorkflowGraph(
        name=spec.name,
        title=f"{status.coordination_id}: {status.status}" if status else spec.name,
    )
    for agent_id in spec.order():
        agent = spec.agents[agent_id]
        found = agent_status.get(agent_id)
        label = agent_id
        if agent.map is not None:
            label = f"{agent_id} ×≤{agent.map.max_items}"  # a map agent: one node for all its items
        if found is not None and found.items is not None:
            label = f"{agent_id} {found.items.summary()}\n{found.status}"
        elif found is not None:
            attempts = f" · {found.attempts} attempts" if found.attempts > 1 else ""
            label = f"{agent_id}\n{found.status}{attempts}"
        graph.nodes.append(
            Node(
                node_id=f"agent:{agent_id}",
                label=label,
                kind="agent",
                status=None if found is None else found.status,
                on_branch=agent.start == "on_branch",
                detail=agent.objective,
            )
        )
    completion: set[tuple[str, str]] = set()
    for agent_id, upstream in spec.upstream().items():
        for target in upstream:
            completion.add((target, agent_id))
    for source, target in sorted(completion, key=lambda pair: (spec.order().index(pair[1]), pair[0])):
        graph.edges.append(Edge(f"agent:{source}", f"agent:{target}", "completion"))
    _add_dependency_nodes(spec, graph, dependency_status)
    _add_branches(spec, graph)
    return graph


def _add_dependency_nodes(spec: WorkflowSpec, graph: WorkflowGraph, dependency_status: dict[str, str]) -> None:
    statuses: dict[str, list[str]] = {}
    for dependency in spec.dependencies:
        kind_name = dependency.type.value
        if kind_name == "agent_completion":
            continue
        kind = _KIND_OF_TYPE.get(kind_name, "other")
        node_id = f"{kind_name}:{dependency.target}"
        if node_id not in statuses:
            statuses[node_id] = []
            graph.nodes.append(Node(node_id, dependency.target, kind, detail=kind_name.replace("_", " ")))
        found = dependency_status.get(dependency.id)
        if found is not None:
            statuses[node_id].append(found)
        label = f"≥ {dependency.threshold:g}" if kind == "gate" else ""
        graph.edges.append(Edge(node_id, f"agent:{dependency.agent}", "dependency", label))
    for index, node in enumerate(graph.nodes):
        seen = statuses.get(node.node_id)
        if seen:
            graph.nodes[index] = Node(node.node_id, node.label, node.kind, _combined(seen), node.on_branch, node.detail)


def _combined(statuses: list[str]) -> str:
    """One status for a node several dependencies wait on: the worst of theirs."""
    for worst in ("timeout", "failed", "pending", "in_progress"):
        if worst in statuses:
            return worst
    return statuses[0]


def _add_branches(spec: WorkflowSpec, graph: WorkflowGraph) -> None:
    seen: set[tuple[str, str]] = set()
    for rule in spec.routing.rules:
        if rule.decision is not RoutingDecision.BRANCH or not rule.next_task:
            continue
        sources = rule.agents or [agent for agent in spec.agents if agent != rule.next_task]
        condition = f"{rule.condition_key} {rule.condition_operator} {json.dumps(rule.condition_value, default=str)}"
        for source in sources:
            if (source, rule.next_task) in seen:
                continue
            seen.add((source, rule.next_task))
            graph.edges.append(Edge(f"agent:{source}", f"agent:{rule.next_task}", "branch", condition))


# -- DOT ---------------------------------------------------------------------------------------------------------


def _dot_string(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, new lines as DOT's centred line break."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + escaped.replace("\n", "\\n") + '"'


def _fill(status: str | None) -> tuple[str, str]:
    if status is None:
        return "#ffffff", "#000000"
    return STATUS_COLOURS.get(status, "#e0e0e0"), "#ffffff" if status in _DARK else "#000000"


def to_dot(graph: WorkflowGraph) -> str:
    """Graphviz DOT text of the graph (left to right; node ids are the graph's own)."""
    lines = [
        f"digraph {_dot_string(graph.name)} {{",
        "  rankdir=LR;",
        f"  label={_dot_string(graph.title)}; labelloc=t; fontname=Helvetica;",
        '  node [fontname=Helvetica, fontsize=11, style="filled,rounded"];',
        "  edge [fontname=Helvetica, fontsize=9];",
    ]
    for node in graph.nodes:
        fill, font = _fill(node.status)
        style = "filled,rounded" if node.kind == "agent" else "filled"
        if node.on_branch:
            style += ",dashed"
        attributes = [
            f"label={_dot_string(node.label)}",
            f"shape={_DOT_SHAPE[node.kind]}",
            f'style="{style}"',
            f'fillcolor="{fill}"',
            f'fontcolor="{font}"',
            f"id={_dot_string('node-' + node.node_id)}",
        ]
        if node.detail:
            attributes.append(f"tooltip={_dot_string(node.detail)}")
        lines.append(f"  {_dot_string(node.node_id)} [{', '.join(attributes)}];")
    for edge in graph.edges:
        attributes = []
        if edge.label:
            attributes.append(f"label={_dot_string(edge.label)}")
        if edge.kind == "branch":
            attributes.append("style=dashed")
        elif edge.kind == "dependency":
            attributes.append('color="#616161"')
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {_dot_string(edge.source)} -> {_dot_string(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Mermaid -----------------------------------------------------------------------------------------------------

_MERMAID_SHAPE = {
    "agent": ('["', '"]'),
    "resource": ('[("', '")]'),
    "gate": ('{"', '"}'),
    "approval": ('{{"', '"}}'),
    "other": ('("', '")'),
}


def _mermaid_text(text: str) -> str:
    """Mermaid label text: entity codes for what would end or change the label, ``<br/>`` for new lines."""
    replaced = (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;").replace("\r", "")
    )
    return replaced.replace("\n", "<br/>")


def to_mermaid(graph: WorkflowGraph) -> str:
    """Mermaid flowchart text of the graph (node ids ``n0``, ``n1``... so no id needs escaping)."""
    ids = {node.node_id: f"n{index}" for index, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    classes: dict[str, list[str]] = {}
    dashed = []
    for node in graph.nodes:
        opening, closing = _MERMAID_SHAPE[node.kind]
        lines.append(f"  {ids[node.node_id]}{opening}{_mermaid_text(node.label)}{closing}")
        if node.status is not None:
            classes.setdefault(node.status, []).append(ids[node.node_id])
        if node.on_branch:
            dashed.append(ids[node.node_id])
    for edge in graph.edges:
        source, target = ids[edge.source], ids[edge.target]
        label = _mermaid_text(edge.label)
        if edge.kind == "branch":
            lines.append(f'  {source} -. "{label}" .-> {target}' if label else f"  {source} -.-> {target}")
        elif label:
            lines.append(f'  {source} -- "{label}" --> {target}')
        else:
            lines.append(f"  {source} --> {target}")
    for status, members in sorted(classes.items()):
        fill, font = _fill(status)
        name = "s_" + "".join(ch if ch.isalnum() else "_" for ch in status)
        lines.append(f"  classDef {name} fill:{fill},color:{font}")
        lines.append(f"  class {','.join(members)} {name}")
    for member in dashed:
        lines.append(f"  style {member} stroke-dasharray: 5 5")
    return "\n".join(lines) + "\n"
