"""Mermaid: the flowchart renders without error in Chromium with the real mermaid library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from runtime.formats.mermaid import MAX_EDGES, SHAPES, quote, render
from runtime.nodes import KINDS
from runtime.spec import SCHEMA, load
from tests.runtime.formats.samples import demo, every_kind

RENDER = """async (text) => {
  mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
  await mermaid.parse(text);
  const {svg} = await mermaid.render("diagram", text);
  return svg;
}"""


def mermaid_svg(page: Page, script: Path, text: str) -> str:
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(path=str(script))
    return page.evaluate(RENDER, text)


@pytest.mark.browser
def test_chromium_renders_every_kind_with_the_mermaid_library(
    page: Page, mermaid_script: Path
) -> None:
    spec = every_kind()
    text, warnings = render(spec)
    svg = mermaid_svg(page, mermaid_script, text)
    assert warnings == []
    assert svg.count('class="node ') == len(spec.nodes)
    assert svg.count('data-edge="true"') == len(spec.edges)
    assert "<script" not in svg


@pytest.mark.browser
def test_chromium_renders_the_demo_with_its_edge_labels(page: Page, mermaid_script: Path) -> None:
    svg = mermaid_svg(page, mermaid_script, render(demo())[0])
    assert "OrderPlaced" in svg
    assert "Orders queue" in svg


def test_ids_are_safe_and_labels_quoted() -> None:
    text, _ = render(every_kind())
    assert text.startswith("flowchart LR\n")
    assert '  n0(["#lt;script#gt;alert(1)#lt;/script#gt; #amp; #quot;quotes#quot;' in text
    assert "<script>" not in text


def test_every_kind_has_a_shape() -> None:
    assert set(SHAPES) == set(KINDS)
    assert quote('a "b" | c') == '"a #quot;b#quot; #124; c"'


def test_more_than_500_edges_gives_a_warning() -> None:
    nodes: list[dict[str, Any]] = [
        {"id": "p", "kind": "producer", "x": 0, "y": 0},
        *({"id": f"q{i}", "kind": "queue", "x": 200, "y": i * 80} for i in range(MAX_EDGES + 1)),
    ]
    edges = [{"id": f"e{i}", "source": "p", "target": f"q{i}"} for i in range(MAX_EDGES + 1)]
    spec = load({"schema": SCHEMA, "name": "Wide", "nodes": nodes, "edges": edges})
    _, warnings = render(spec)
    assert warnings and "501 edges" in warnings[0]
