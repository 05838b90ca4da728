"""Graphviz DOT: a left-to-right digraph with one shape and colour per kind, labels escaped."""

from __future__ import annotations

from runtime.formats.common import colours, edge_label, nodes_by_id, one_line
from runtime.spec import TopologySpec

SHAPES: dict[str, str] = {
    "producer": "cds",
    "partner_source": "cds",
    "http_api": "component",
    "graphql_api": "component",
    "event_bus": "hexagon",
    "rule": "diamond",
    "topic": "ellipse",
    "queue": "cylinder",
    "stream": "parallelogram",
    "kafka_topic": "parallelogram",
    "broker": "cylinder",
    "function": "box",
    "state_machine": "box3d",
    "webhook": "note",
    "email": "note",
    "sms": "note",
    "log": "folder",
}


def quote(text: str) -> str:
    """A DOT quoted string; backslashes too, so \\N or \\G in a label stay literal."""
    escaped = one_line(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render(spec: TopologySpec) -> str:
    lines = [
        f"digraph {quote(spec.name)} {{",
        f"  graph [rankdir=LR, fontname=Helvetica, label={quote(spec.name)}, labelloc=t];",
        '  node [fontname=Helvetica, fontsize=11, style="filled,rounded"];',
        '  edge [fontname=Helvetica, fontsize=9, color="#64748b"];',
    ]
    for node in spec.nodes:
        fill, stroke = colours(node.kind)
        lines.append(
            f"  {quote(node.id)} [label={quote(node.label or node.id)}, "
            f'shape={SHAPES[node.kind]}, fillcolor="{fill}", color="{stroke}"];'
        )
    nodes = nodes_by_id(spec)
    for edge in spec.edges:
        label = edge_label(nodes, edge)
        attributes = f"id={quote(edge.id)}" + (f", label={quote(label)}" if label else "")
        lines.append(f"  {quote(edge.source)} -> {quote(edge.target)} [{attributes}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
