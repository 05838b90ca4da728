"""draw.io: uncompressed mxGraph XML with one cell per node and per edge, at the same layout;
maxGraph (the mxGraph library draw.io's format comes from) reads it back in Chromium."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route

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


ORIGIN = "http://maxgraph.test"
READ_BACK = """async (xml) => {
  const mx = await import("/lib/esm/index.js");
  const graph = new mx.Graph(document.getElementById("graph"));
  new mx.ModelXmlSerializer(graph.getDataModel()).import(xml);
  const parent = graph.getDefaultParent();
  const vertices = parent.getChildVertices();
  const edges = parent.getChildEdges();
  return {
    vertices: vertices.map((v) => [v.getId(), v.getValue(), v.getGeometry().x, v.getGeometry().y]),
    edges: edges.map((e) => [
      e.getId(), e.getTerminal(true)?.getId(), e.getTerminal(false)?.getId(),
    ]),
  };
}"""


def serve_package(page: Page, package: Path) -> None:
    """The package's ES modules under a made-up origin, so they import each other as in a site."""

    def answer(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN + "/")
        if path == "page.html":
            route.fulfill(body='<div id="graph"></div>', content_type="text/html")
            return
        file = (package / path).resolve()
        if package.resolve() not in file.parents or not file.is_file():
            route.fulfill(status=404, body="")
            return
        route.fulfill(body=file.read_bytes(), content_type="text/javascript")

    page.route(f"{ORIGIN}/**", answer)
    page.goto(f"{ORIGIN}/page.html")


@pytest.mark.browser
def test_maxgraph_reads_back_every_cell_label_and_position(page: Page, maxgraph_dir: Path) -> None:
    spec = every_kind()
    model = ET.fromstring(render(spec).encode("utf-8")).find("./diagram/mxGraphModel")
    serve_package(page, maxgraph_dir)
    read: dict[str, Any] = page.evaluate(READ_BACK, ET.tostring(model, encoding="unicode"))
    assert [v[0] for v in read["vertices"]] == [f"node-{node.id}" for node in spec.nodes]
    assert read["vertices"][0][1:] == [HOSTILE, 0, 0]
    assert read["edges"] == [
        [f"edge-{e.id}", f"node-{e.source}", f"node-{e.target}"] for e in spec.edges
    ]
