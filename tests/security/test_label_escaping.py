"""S5: labels carrying script payloads render escaped on every page and in SVG/diagram exports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client

from designer.models import Topology
from runtime.spec import load
from tests.security.conftest import PAYLOADS, designer_addresses, is_html, labelled_document

pytestmark = pytest.mark.django_db

# Markup that would run or load something if a label were spliced in unescaped.
DANGEROUS = (
    "<script>alert(1)",
    "<svg onload=alert(1)",
    "<image xlink:href=x onerror",
    'href="javascript:',
    "href='javascript:",
)


def dangerous_in(text: str) -> list[str]:
    return [marker for marker in DANGEROUS if marker in text]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_designer_page_renders_a_hostile_label_escaped(
    payload: str, alice: Any, bob: Any
) -> None:
    topology = Topology.create_from_document(alice, labelled_document(payload))
    client = Client()
    client.force_login(alice)
    checked = 0
    for address in designer_addresses(topology, bob):
        response = client.get(address.path)
        if response.status_code == 200 and is_html(response):
            assert dangerous_in(response.content.decode()) == [], address.name
            checked += 1
    assert checked >= 3


def svg_problems(svg: str) -> list[str]:
    """Elements or attributes in an SVG that could run script."""
    problems = []
    for element in ET.fromstring(svg.split("?>", 1)[-1]).iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in ("script", "foreignObject", "iframe"):
            problems.append(tag)
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on") or value.strip().lower().startswith("javascript:"):
                problems.append(f"{tag}@{local}")
    return problems


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_svg_export_keeps_hostile_labels_as_text(payload: str) -> None:
    svg = pytest.importorskip("runtime.formats.svg")
    rendered = svg.render(load(labelled_document(payload)))
    assert svg_problems(rendered) == []
    texts = "".join(ET.fromstring(rendered.split("?>", 1)[-1]).itertext())
    assert payload[:10] in texts  # shown as the text it is


@pytest.mark.parametrize("fmt", ["svg", "drawio", "mermaid", "dot"])
def test_diagram_downloads_of_a_hostile_topology_carry_no_live_markup(fmt: str, alice: Any) -> None:
    topology = Topology.create_from_document(alice, labelled_document(PAYLOADS[0]))
    client = Client()
    client.force_login(alice)
    response = client.get(f"/topologies/{topology.pk}/export/{fmt}/")
    if response.status_code == 404:
        pytest.skip(f"no {fmt} export view")
    assert response.status_code == 200
    content = b"".join(response) if response.streaming else response.content
    text = content.decode("utf-8", "replace")
    if fmt == "dot":
        # DOT is text: a quoted label is inert; only an HTML-like label (label=<...>) is markup.
        assert "label=<" not in text
    else:
        assert "<script>alert(1)" not in text
    if fmt == "svg":
        assert svg_problems(text) == []
        assert response["X-Content-Type-Options"] == "nosniff"
