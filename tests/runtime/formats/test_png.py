"""PNG on the server: made by an optional rasteriser, with a clear message when none is there."""

from __future__ import annotations

import struct

import pytest

from runtime.formats import RasteriserMissing, export, png
from tests.runtime.formats.samples import demo


def size_of(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_without_a_rasteriser_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(png, "available", lambda: None)
    with pytest.raises(
        RasteriserMissing, match="no PNG rasteriser is installed: pip install cairosvg"
    ):
        export(demo(), "png")


def test_an_installed_rasteriser_makes_a_png_at_1x_and_2x() -> None:
    # cairosvg is a dev dependency, so the CLI's PNG path is always exercised here.
    assert png.available() is not None, "cairosvg is missing: pip install -e '.[dev]'"
    one = export(demo(), "png", scale=1)
    two = export(demo(), "png", scale=2)
    width, height = size_of(one.content)
    assert (width, height) == pytest.approx((1448, 812), abs=2)
    assert size_of(two.content)[0] == pytest.approx(2 * width, abs=4)
    assert two.filename == "orders-demo@2x.png"


def test_only_scales_1_and_2_are_offered() -> None:
    with pytest.raises(ValueError, match="scale must be 1 or 2"):
        export(demo(), "png", scale=3)
