"""The SVG export parses as XML, draws one element per node and edge, and escapes every label."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from runtime.formats import export
from runtime.formats.svg import render
from runtime.nodes import KINDS
from tests.runtime.formats.samples import HOSTILE, demo, every_kind

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def test_the_svg_has_one_group_per_node_and_one_element_per_edge() -> None:
    spec = every_kind()
    root = parse(render(spec))
    nodes = root.findall(".//svg:g[@class='node']", NS)
    edges = root.findall(".//svg:*[@class='edge']", NS)
    assert [node.get("data-node-id") for node in nodes] == [node.id for node in spec.nodes]
    assert [edge.get("data-edge-id") for edge in edges] == [edge.id for edge in spec.edges]


def test_labels_are_escaped_text_never_markup() -> None:
    text = render(every_kind())
    root = parse(text)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert root.findall(".//svg:script", NS) == []
    clicks = root.find(".//svg:g[@data-node-id='clicks']", NS)
    assert clicks is not None
    shown = "".join(clicks.itertext())
    assert HOSTILE[:20] in shown


def test_nodes_sit_at_their_document_positions_with_their_kind_icon() -> None:
    spec = demo()
    root = parse(render(spec))
    api = root.find(".//svg:g[@data-node-id='orders-api']", NS)
    assert api is not None
    assert api.get("transform") == "translate(40 80)"
    assert KINDS["http_api"].icon in "".join(api.itertext())


def test_the_view_box_fits_every_node_with_a_margin() -> None:
    root = parse(render(demo()))
    left, top, width, height = (float(part) for part in root.get("viewBox", "").split())
    assert (left, top) == (0.0, -120.0)  # the DLQ sits at y=-80, 40 above it
    assert width > 1240 and height > 600
    assert root.get("width") and root.get("height")


def test_it_is_self_contained_with_inline_styles_only() -> None:
    text = render(demo())
    assert "<style" not in text and "href=" not in text and "@import" not in text
    assert "url(#arrow)" in text  # the only reference, to its own marker


def test_rule_and_filter_edges_are_labelled() -> None:
    root = parse(render(demo()))
    bus_rule = root.find(".//svg:g[@data-edge-id='bus-new-orders']", NS)
    topic_email = root.find(".//svg:g[@data-edge-id='topic-email']", NS)
    assert "detail-type=OrderPlaced" in "".join(bus_rule.itertext())
    assert "detail.channel=email" in "".join(topic_email.itertext())


def test_the_registry_names_the_file_after_the_topology() -> None:
    exported = export(demo(), "svg")
    assert exported.filename == "orders-demo.svg"
    assert exported.content_type == "image/svg+xml"
