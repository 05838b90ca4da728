"""draw.io: uncompressed mxGraph XML with one cell per node and per edge, at the same layout."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from runtime.formats.drawio import render
from tests.runtime.formats.samples import HOSTILE, demo, every_kind


def cells(text: str) -> list[ET.Element]:
    return ET.fromstring(text.encode("utf-8")).findall("./diagram/mxGraphModel/root/mxCell")


def test_every_node_is_a_vertex_and_every_edge_an_edge_cell() -> None:
    spec = every_kind()
    found = cells(render(spec))
    vertices = [cell for cell in found if cell.get("vertex") == "1"]
    edges = [cell for cell in found if cell.get("edge") == "1"]
    assert len(vertices) == len(spec.nodes)
    assert len(edges) == len(spec.edges)
    ids = {cell.get("id") for cell in vertices}
    assert all(edge.get("source") in ids and edge.get("target") in ids for edge in edges)


def test_vertices_keep_the_document_positions() -> None:
    found = {cell.get("id"): cell for cell in cells(render(demo()))}
    geometry = found["node-orders-dlq"].find("mxGeometry")
    assert (geometry.get("x"), geometry.get("y")) == ("760", "-80")


def test_labels_are_plain_escaped_text() -> None:
    text = render(every_kind())
    assert "<script>" not in text
    found = {cell.get("id"): cell for cell in cells(text)}
    assert found["node-clicks"].get("value") == HOSTILE
    assert "html=0" in found["node-clicks"].get("style")


def test_the_two_root_cells_come_first() -> None:
    found = cells(render(demo()))
    assert [cell.get("id") for cell in found[:2]] == ["0", "1"]
    assert found[1].get("parent") == "0"
