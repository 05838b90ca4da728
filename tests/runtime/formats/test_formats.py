"""The registry: every format exports the demo; imports detect their format from the content."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.formats import EXPORT_FORMATS, FormatError, export, import_document, png
from runtime.spec import load, loads
from tests.runtime.formats.samples import demo, every_kind


@pytest.mark.parametrize("fmt", [name for name in EXPORT_FORMATS if name != "png"])
def test_every_format_exports_the_demo(fmt: str) -> None:
    exported = export(demo(), fmt)
    assert exported.content
    assert exported.filename.startswith(("orders-demo.", "payment-workflow."))
    assert exported.content_type


def test_the_json_round_trip_is_lossless() -> None:
    for spec in (demo(), every_kind()):
        assert loads(export(spec, "json").content) == spec
        assert json.loads(export(spec, "json").content) == spec.to_dict()


def test_imports_detect_json_asl_and_cloudformation() -> None:
    spec = demo()
    assert import_document(export(spec, "json").content).format == "json"
    assert import_document(export(spec, "asl").content).format == "asl"
    assert import_document(export(spec, "cloudformation").content).format == "cloudformation"
    assert load(import_document(export(spec, "json").content).document) == spec


def test_unknown_formats_are_named() -> None:
    with pytest.raises(FormatError, match="unknown format 'pdf'"):
        export(demo(), "pdf")
    with pytest.raises(FormatError, match="unknown import format 'xml'"):
        import_document("{}", fmt="xml")


def test_png_is_registered_with_its_rasteriser_check() -> None:
    assert EXPORT_FORMATS["png"].content_type == "image/png"
    assert png.available() in (None, "cairosvg", "rsvg-convert", "magick", "convert")


def test_the_formats_package_runs_without_django() -> None:
    script = (
        "import sys, runtime.formats\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'channels', 'designer'})))\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, check=True
    )
    assert result.stdout.strip() == ""
