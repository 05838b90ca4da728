"""DOT: Graphviz itself renders the export, with escaped labels and shapes per kind."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from runtime.formats.dot import SHAPES, quote, render
from runtime.nodes import KINDS
from tests.runtime.formats.samples import demo, every_kind


def graphviz() -> str:
    found = shutil.which("dot")
    if found is None:
        message = "Graphviz `dot` is not installed (Debian package graphviz; .ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def rendered_svg(text: str) -> ET.Element:
    result = subprocess.run(
        [graphviz(), "-Tsvg"], input=text, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr
    return ET.fromstring(result.stdout.encode("utf-8"))


def test_graphviz_renders_every_node_and_edge_of_every_kind() -> None:
    spec = every_kind()
    svg = rendered_svg(render(spec))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert len(svg.findall(".//svg:g[@class='node']", ns)) == len(spec.nodes)
    assert len(svg.findall(".//svg:g[@class='edge']", ns)) == len(spec.edges)


def test_graphviz_renders_the_demo_with_edge_labels() -> None:
    svg = rendered_svg(render(demo()))
    texts = "".join(svg.itertext())
    assert "detail-type=OrderPlaced" in texts


def test_hostile_labels_survive_as_text() -> None:
    svg = rendered_svg(render(every_kind()))
    assert "<script>alert(1)</script>" in "".join(svg.itertext())


def test_quotes_and_backslashes_are_escaped() -> None:
    assert quote('say "hi" \\N') == '"say \\"hi\\" \\\\N"'
    assert quote("two\nlines") == '"two lines"'


def test_every_kind_has_a_shape() -> None:
    assert set(SHAPES) == set(KINDS)
    assert "rankdir=LR" in render(demo())
