"""draw.io (mxGraph) XML, uncompressed: one vertex per node at its position, one edge per edge.

Labels are plain text (html=0), so draw.io never interprets a label as markup.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from runtime.formats.common import box, colours, edge_label, nodes_by_id, one_line
from runtime.spec import TopologySpec

SHAPES: dict[str, str] = {
    "producer": "rounded=1;arcSize=50",
    "partner_source": "rounded=1;arcSize=50",
    "http_api": "shape=step;perimeter=stepPerimeter;size=0.1",
    "graphql_api": "shape=step;perimeter=stepPerimeter;size=0.1",
    "event_bus": "shape=hexagon;perimeter=hexagonPerimeter2;size=0.1",
    "rule": "rhombus",
    "topic": "ellipse",
    "queue": "shape=cylinder3;boundedLbl=1;size=8;direction=south",
    "stream": "shape=parallelogram;perimeter=parallelogramPerimeter;size=0.1",
    "kafka_topic": "shape=parallelogram;perimeter=parallelogramPerimeter;size=0.1;flipH=1",
    "broker": "shape=cylinder3;boundedLbl=1;size=8",
    "function": "rounded=1",
    "state_machine": "shape=process;size=0.08",
    "webhook": "shape=document;boundedLbl=1",
    "email": "shape=document;boundedLbl=1",
    "sms": "shape=document;boundedLbl=1",
    "log": "shape=note;size=12",
}


def node_cell_id(node_id: str) -> str:
    return f"node-{node_id}"


def edge_cell_id(edge_id: str) -> str:
    return f"edge-{edge_id}"


def render(spec: TopologySpec) -> str:
    mxfile = ET.Element("mxfile", {"host": "Flowyard", "type": "device"})
    diagram = ET.SubElement(mxfile, "diagram", {"id": "flowyard", "name": one_line(spec.name)})
    model = ET.SubElement(
        diagram,
        "mxGraphModel",
        {"grid": "1", "gridSize": "10", "guides": "1", "arrows": "1", "connect": "1"},
    )
    root = ET.SubElement(model, "root")
    ET.SubElement(root, "mxCell", {"id": "0"})
    ET.SubElement(root, "mxCell", {"id": "1", "parent": "0"})
    for node in spec.nodes:
        fill, stroke = colours(node.kind)
        style = f"{SHAPES[node.kind]};whiteSpace=wrap;html=0;fillColor={fill};strokeColor={stroke};"
        cell = ET.SubElement(
            root,
            "mxCell",
            {
                "id": node_cell_id(node.id),
                "value": one_line(node.label or node.id),
                "style": style,
                "vertex": "1",
                "parent": "1",
            },
        )
        where = box(node)
        ET.SubElement(
            cell,
            "mxGeometry",
            {
                "x": f"{where.x:g}",
                "y": f"{where.y:g}",
                "width": f"{where.width:g}",
                "height": f"{where.height:g}",
                "as": "geometry",
            },
        )
    nodes = nodes_by_id(spec)
    for edge in spec.edges:
        cell = ET.SubElement(
            root,
            "mxCell",
            {
                "id": edge_cell_id(edge.id),
                "value": edge_label(nodes, edge),
                "style": "edgeStyle=orthogonalEdgeStyle;rounded=1;html=0;endArrow=block;"
                "strokeColor=#64748b;fontSize=10;",
                "edge": "1",
                "parent": "1",
                "source": node_cell_id(edge.source),
                "target": node_cell_id(edge.target),
            },
        )
        ET.SubElement(cell, "mxGeometry", {"relative": "1", "as": "geometry"})
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(mxfile, encoding="unicode")
