"""The diagram as drawn, as a self-contained SVG: positions from the document, inline styles.

Built with ElementTree, so every label is escaped by the serializer and no user text is ever
spliced into markup.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from runtime.formats.common import (
    NODE_WIDTH,
    Box,
    bounds,
    box,
    colours,
    edge_label,
    nodes_by_id,
    one_line,
)
from runtime.nodes import KINDS
from runtime.spec import EdgeSpec, NodeSpec, TopologySpec

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
LABEL_CHARS = 22  # what fits in a node box at 13px

ET.register_namespace("", SVG_NS)


def render(spec: TopologySpec) -> str:
    left, top, width, height = bounds(spec)
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"{_n(left)} {_n(top)} {_n(width)} {_n(height)}",
            "width": _n(width),
            "height": _n(height),
            "role": "img",
            "aria-labelledby": "diagram-title",
            "font-family": FONT,
        },
    )
    ET.SubElement(root, "title", {"id": "diagram-title"}).text = spec.name
    _defs(root)
    ET.SubElement(
        root,
        "rect",
        {"x": _n(left), "y": _n(top), "width": _n(width), "height": _n(height), "fill": "#ffffff"},
    )
    edges = ET.SubElement(root, "g", {"class": "edges"})
    by_id = nodes_by_id(spec)
    for edge in spec.edges:
        _edge(edges, by_id, edge)
    nodes = ET.SubElement(root, "g", {"class": "nodes"})
    for node in spec.nodes:
        _node(nodes, node.id, node.kind, node.label, box(node))
    # ET.tostring adds its own ns0 prefix when xmlns is also an attribute; keep it plain.
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _n(value: float) -> str:
    return f"{value:g}"


def _defs(root: ET.Element) -> None:
    defs = ET.SubElement(root, "defs")
    marker = ET.SubElement(
        defs,
        "marker",
        {
            "id": "arrow",
            "viewBox": "0 0 10 10",
            "refX": "9",
            "refY": "5",
            "markerWidth": "8",
            "markerHeight": "8",
            "orient": "auto-start-reverse",
        },
    )
    ET.SubElement(marker, "path", {"d": "M 0 0 L 10 5 L 0 10 z", "fill": "#64748b"})


def _edge(parent: ET.Element, nodes: Mapping[str, NodeSpec], edge: EdgeSpec) -> None:
    start, end = box(nodes[edge.source]), box(nodes[edge.target])
    x1, y1, x2, y2 = start.right, start.middle, end.x, end.middle
    bend = max(40.0, abs(x2 - x1) / 2)
    group = ET.SubElement(
        parent,
        "g",
        {
            "class": "edge",
            "data-edge-id": edge.id,
            "data-source": edge.source,
            "data-target": edge.target,
        },
    )
    ET.SubElement(
        group,
        "path",
        {
            "d": f"M {_n(x1)} {_n(y1)} C {_n(x1 + bend)} {_n(y1)} {_n(x2 - bend)} {_n(y2)} "
            f"{_n(x2)} {_n(y2)}",
            "fill": "none",
            "stroke": "#64748b",
            "stroke-width": "1.5",
            "marker-end": "url(#arrow)",
        },
    )
    label = edge_label(nodes, edge)
    if label:
        text = ET.SubElement(
            group,
            "text",
            {
                "x": _n((x1 + x2) / 2),
                "y": _n((y1 + y2) / 2 - 6),
                "text-anchor": "middle",
                "font-size": "11",
                "fill": "#334155",
                # A white halo keeps the label readable where it crosses lines.
                "stroke": "#ffffff",
                "stroke-width": "3",
                "paint-order": "stroke",
                "class": "edge-label",
            },
        )
        text.text = label


def _node(parent: ET.Element, node_id: str, kind: str, label: str, where: Box) -> None:
    fill, stroke = colours(kind)
    group = ET.SubElement(
        parent,
        "g",
        {
            "class": "node",
            "data-node-id": node_id,
            "data-kind": kind,
            "transform": f"translate({_n(where.x)} {_n(where.y)})",
        },
    )
    ET.SubElement(group, "title").text = f"{label} ({KINDS[kind].label})"
    ET.SubElement(
        group,
        "rect",
        {
            "width": _n(where.width),
            "height": _n(where.height),
            "rx": "8",
            "fill": fill,
            "stroke": stroke,
            "stroke-width": "1.5",
        },
    )
    icon = ET.SubElement(
        group,
        "text",
        {"x": "20", "y": "33", "text-anchor": "middle", "font-size": "20", "fill": stroke},
    )
    icon.text = KINDS[kind].icon
    name = ET.SubElement(
        group,
        "text",
        {"x": "40", "y": "23", "font-size": "13", "font-weight": "600", "fill": "#111827"},
    )
    name.text = one_line(label, LABEL_CHARS)
    caption = ET.SubElement(
        group, "text", {"x": "40", "y": "40", "font-size": "11", "fill": "#4b5563"}
    )
    caption.text = one_line(KINDS[kind].label, (NODE_WIDTH - 48) // 6)
