"""In Chromium: Export PNG in the editor downloads the diagram at 1x and 2x."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from designer.models import Topology
from tests.browser.test_login import login_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_SIZE = (1448, 812)  # the demo's SVG: its nodes' extent plus a 40 px margin


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def download_png(page: Page, name: str, tmp_path: Any) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=name).click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path.read_bytes()


def test_export_png_downloads_the_diagram_at_1x_and_2x(
    page: Page, asgi_live_server: str, tmp_path: Any
) -> None:
    page.goto(login_link(asgi_live_server))
    demo = Topology.objects.get(name="Orders demo")
    page.goto(f"{asgi_live_server}/topologies/{demo.pk}/")
    page.get_by_label("Export menu").click()

    one = download_png(page, "Export PNG 1x", tmp_path)
    assert png_size(one) == DEMO_SIZE
    assert len(one) > 10_000  # a drawing, not an empty canvas

    two = download_png(page, "Export PNG 2x", tmp_path)
    assert png_size(two) == (2 * DEMO_SIZE[0], 2 * DEMO_SIZE[1])
    assert len(two) > len(one)
    expect(page.get_by_text("PNG downloaded.")).to_be_visible()
