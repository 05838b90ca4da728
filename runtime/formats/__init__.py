"""Export and import of topologies in standard formats; plain Python, no Django.

``export(spec, fmt, **options)`` is the one entry point for writers: it returns the content, its
content type, a file name and any warnings. ``import_document(raw, ...)`` turns a JSON document,
an ASL definition or a CloudFormation template into a topology document, detecting the format
from the content and the file name when none is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from runtime.formats import asl, asyncapi, cloudformation, cloudformation_import, reading
from runtime.formats import dot as dot_format
from runtime.formats import drawio as drawio_format
from runtime.formats import mermaid as mermaid_format
from runtime.formats import png as png_format
from runtime.formats import svg as svg_format
from runtime.formats.common import file_stem
from runtime.formats.errors import FormatError, RasteriserMissing, UnsupportedResources
from runtime.spec import SCHEMA, TopologySpec

__all__ = [
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "Exported",
    "FormatError",
    "Imported",
    "RasteriserMissing",
    "UnsupportedResources",
    "export",
    "import_document",
]


class Exported(NamedTuple):
    content: str | bytes
    content_type: str
    filename: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportFormat:
    name: str
    title: str
    extension: str
    content_type: str
    write: Callable[..., tuple[str | bytes, list[str]]]


def _svg(spec: TopologySpec, **options: Any) -> tuple[str, list[str]]:
    return svg_format.render(spec), []


def _png(spec: TopologySpec, *, scale: int = 1, **options: Any) -> tuple[bytes, list[str]]:
    if scale not in (1, 2):
        raise FormatError("scale must be 1 or 2")
    return png_format.rasterise(svg_format.render(spec), scale), []


def _mermaid(spec: TopologySpec, **options: Any) -> tuple[str, list[str]]:
    return mermaid_format.render(spec)


def _dot(spec: TopologySpec, **options: Any) -> tuple[str, list[str]]:
    return dot_format.render(spec), []


def _drawio(spec: TopologySpec, **options: Any) -> tuple[str, list[str]]:
    return drawio_format.render(spec), []


def _json(spec: TopologySpec, **options: Any) -> tuple[str, list[str]]:
    return reading.dumps_json(spec.to_dict()), []


def _cloudformation(spec: TopologySpec, **options: Any) -> tuple[str, list[str]]:
    return cloudformation.render(spec)


def _asl(spec: TopologySpec, *, node: str | None = None, **options: Any) -> tuple[str, list[str]]:
    return asl.render(spec, node), []


def _asyncapi(spec: TopologySpec, **options: Any) -> tuple[str, list[str]]:
    return asyncapi.render(spec)


EXPORT_FORMATS: dict[str, ExportFormat] = {
    item.name: item
    for item in (
        ExportFormat("svg", "SVG image", "svg", "image/svg+xml", _svg),
        ExportFormat("png", "PNG image", "png", "image/png", _png),
        ExportFormat("mermaid", "Mermaid flowchart", "mmd", "text/plain; charset=utf-8", _mermaid),
        ExportFormat("dot", "Graphviz DOT", "dot", "text/vnd.graphviz; charset=utf-8", _dot),
        ExportFormat("drawio", "draw.io diagram", "drawio", "application/xml", _drawio),
        ExportFormat("json", "Flowyard JSON", "json", "application/json; charset=utf-8", _json),
        ExportFormat(
            "cloudformation",
            "CloudFormation YAML",
            "cfn.yaml",
            "application/yaml; charset=utf-8",
            _cloudformation,
        ),
        ExportFormat(
            "asl", "State machine ASL", "asl.json", "application/json; charset=utf-8", _asl
        ),
        ExportFormat(
            "asyncapi",
            "AsyncAPI 3.0",
            "asyncapi.yaml",
            "application/yaml; charset=utf-8",
            _asyncapi,
        ),
    )
}


def export(spec: TopologySpec, fmt: str, **options: Any) -> Exported:
    """Write the topology in a format; options: ``node`` (asl), ``scale`` (png), ``stem`` (the
    file name without extension; the topology's name by default)."""
    chosen = EXPORT_FORMATS.get(fmt)
    if chosen is None:
        raise FormatError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    stem = options.pop("stem", None) or file_stem(spec.name)
    if fmt == "asl":
        stem = asl.chosen_node(spec, options.get("node"))
    content, warnings = chosen.write(spec, **options)
    suffix = f"@{options['scale']}x" if fmt == "png" and options.get("scale", 1) != 1 else ""
    return Exported(
        content, chosen.content_type, f"{stem}{suffix}.{chosen.extension}", tuple(warnings)
    )


# --- import ----------------------------------------------------------------------------------

IMPORT_FORMATS = ("json", "asl", "cloudformation")


@dataclass(frozen=True)
class Imported:
    document: dict[str, Any]
    format: str
    skipped: list[str] = field(default_factory=list)


def detect(data: Any, filename: str = "") -> str:
    """Which import format decoded data is, from its shape first and the file name second."""
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        return "json"
    if asl.looks_like_asl(data):
        return "asl"
    if cloudformation_import.looks_like_template(data) or "AWSTemplateFormatVersion" in (
        data if isinstance(data, dict) else {}
    ):
        return "cloudformation"
    lowered = filename.lower()
    if lowered.endswith((".yaml", ".yml", ".template")):
        return "cloudformation"
    if lowered.endswith(".asl.json"):
        return "asl"
    return "json"


def import_document(
    raw: str | bytes,
    *,
    fmt: str | None = None,
    filename: str = "",
    skip_unsupported: bool = False,
    into: dict[str, Any] | None = None,
) -> Imported:
    """A topology document from imported text; ASL goes ``into`` an existing document if given.

    The result is not validated yet: callers load it with ``runtime.spec.load``.
    """
    if fmt is not None and fmt not in IMPORT_FORMATS:
        raise FormatError(
            f"unknown import format {fmt!r}; choose one of {', '.join(IMPORT_FORMATS)}"
        )
    data = reading.decode_json(raw) if fmt in ("json", "asl") else reading.decode(raw)
    chosen = fmt or detect(data, filename)
    if chosen == "json":
        if not isinstance(data, dict):
            raise FormatError("a topology document must be a JSON object")
        return Imported(data, "json")
    if chosen == "asl":
        if not asl.looks_like_asl(data):
            raise FormatError("not an ASL definition: it needs StartAt and States")
        if into is not None:
            return Imported(asl.add_to_document(into, data, filename), "asl")
        return Imported(asl.to_document(data, filename), "asl")
    document, skipped = cloudformation_import.to_document(data, skip_unsupported=skip_unsupported)
    return Imported(document, "cloudformation", skipped)
