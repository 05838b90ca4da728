"""Mermaid flowchart: one shape per kind, safe ids n0…, quoted labels, labelled edges."""

from __future__ import annotations

from runtime.formats.common import GROUP_COLOURS, edge_label, nodes_by_id, one_line
from runtime.nodes import GROUPS, KINDS
from runtime.spec import TopologySpec

MAX_EDGES = 500  # mermaid refuses more unless the page raises maxEdges

# (opening, closing) around the quoted label; stack.md §4 lists the verified shapes.
SHAPES: dict[str, tuple[str, str]] = {
    "producer": ("([", "])"),
    "partner_source": ("([", "])"),
    "http_api": (">", "]"),
    "graphql_api": (">", "]"),
    "event_bus": ("{{", "}}"),
    "rule": ("{", "}"),
    "topic": ("((", "))"),
    "queue": ("[(", ")]"),
    "stream": ("[/", "/]"),
    "kafka_topic": ("[\\", "\\]"),
    "broker": ("[/", "\\]"),
    "function": ("[", "]"),
    "state_machine": ("[[", "]]"),
    "webhook": ("(", ")"),
    "email": ("(", ")"),
    "sms": ("(", ")"),
    "log": ("(", ")"),
}

# Mermaid entity codes: inside a quoted label these are the only safe spellings.
_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
    "|": "#124;",
}


def quote(text: str) -> str:
    return '"' + "".join(_ENTITIES.get(char, char) for char in one_line(text)) + '"'


def render(spec: TopologySpec) -> tuple[str, list[str]]:
    """The flowchart text and any warnings (more edges than mermaid renders by default)."""
    ids = {node.id: f"n{index}" for index, node in enumerate(spec.nodes)}
    lines = ["flowchart LR"]
    for node in spec.nodes:
        opening, closing = SHAPES[node.kind]
        lines.append(f"  {ids[node.id]}{opening}{quote(node.label or node.id)}{closing}")
    nodes = nodes_by_id(spec)
    for edge in spec.edges:
        label = edge_label(nodes, edge)
        arrow = f"-->|{quote(label)}|" if label else "-->"
        lines.append(f"  {ids[edge.source]} {arrow} {ids[edge.target]}")
    lines.extend(_classes(spec, ids))
    warnings = []
    if len(spec.edges) > MAX_EDGES:
        warnings.append(
            f"{len(spec.edges)} edges: mermaid renders at most {MAX_EDGES} unless the page "
            "raises its maxEdges setting"
        )
    return "\n".join(lines) + "\n", warnings


def _classes(spec: TopologySpec, ids: dict[str, str]) -> list[str]:
    lines = []
    for group in GROUPS:
        members = [ids[node.id] for node in spec.nodes if KINDS[node.kind].group == group]
        if not members:
            continue
        fill, stroke = GROUP_COLOURS[group]
        name = group.lower()
        lines.append(f"  classDef {name} fill:{fill},stroke:{stroke}")
        lines.append(f"  class {','.join(members)} {name}")
    return lines
