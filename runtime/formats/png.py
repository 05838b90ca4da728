"""PNG from the server-rendered SVG, when a rasteriser is installed (the browser needs none).

Tried in order: the cairosvg package, then the rsvg-convert or ImageMagick binaries.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess

from runtime.formats.errors import FormatError, RasteriserMissing

TIMEOUT = 60
HOW_TO_GET_ONE = (
    "no PNG rasteriser is installed: pip install cairosvg, or install rsvg-convert (Debian "
    "librsvg2-bin) or ImageMagick; the editor's Export PNG button works without any"
)


def available() -> str | None:
    """The name of the rasteriser that would be used, or None."""
    if _cairosvg() is not None:
        return "cairosvg"
    for binary in ("rsvg-convert", "magick", "convert"):
        if shutil.which(binary):
            return binary
    return None


def _cairosvg() -> object | None:
    try:
        return importlib.import_module("cairosvg")
    except (ImportError, OSError):  # OSError: the package is there but libcairo is not
        return None


def rasterise(svg: str, scale: int = 1) -> bytes:
    tool = available()
    if tool is None:
        raise RasteriserMissing(HOW_TO_GET_ONE)
    data = svg.encode("utf-8")
    if tool == "cairosvg":
        module = _cairosvg()
        return module.svg2png(bytestring=data, scale=scale)  # type: ignore[attr-defined]
    if tool == "rsvg-convert":
        command = ["rsvg-convert", "--zoom", str(scale), "--format", "png"]
    else:
        command = [tool, "-background", "white", "-density", str(96 * scale), "svg:-", "png:-"]
    result = subprocess.run(command, input=data, capture_output=True, timeout=TIMEOUT, check=False)
    if result.returncode != 0 or not result.stdout.startswith(b"\x89PNG"):
        message = result.stderr.decode("utf-8", "replace").strip()[:300]
        raise FormatError(f"{tool} could not rasterise the SVG: {message}")
    return result.stdout
