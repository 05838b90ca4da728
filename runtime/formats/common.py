"""Shared pieces of the diagram writers: node boxes, group colours, edge labels, file names."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.nodes import KINDS
from runtime.spec import EdgeSpec, NodeSpec, TopologySpec

# The editor canvas draws nodes this size (static/designer/canvas.js NODE_W, NODE_H).
NODE_WIDTH = 168
NODE_HEIGHT = 52
MARGIN = 40
MAX_EDGE_LABEL = 60

# One colour pair (fill, stroke) per palette group, shared by SVG, DOT and draw.io.
GROUP_COLOURS: dict[str, tuple[str, str]] = {
    "Producers": ("#dcfce7", "#15803d"),
    "Routing": ("#ede9fe", "#6d28d9"),
    "Buffers": ("#fef3c7", "#b45309"),
    "Compute": ("#dbeafe", "#1d4ed8"),
    "Targets": ("#f3f4f6", "#4b5563"),
}


def colours(kind: str) -> tuple[str, str]:
    return GROUP_COLOURS.get(KINDS[kind].group, ("#ffffff", "#1f2937"))


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def middle(self) -> float:
        return self.y + self.height / 2


def box(node: NodeSpec) -> Box:
    return Box(float(node.x), float(node.y))


def bounds(spec: TopologySpec) -> tuple[float, float, float, float]:
    """(min x, min y, width, height) of every node box plus a margin; a small page when empty."""
    if not spec.nodes:
        return (0.0, 0.0, 2 * MARGIN + NODE_WIDTH, 2 * MARGIN + NODE_HEIGHT)
    boxes = [box(node) for node in spec.nodes]
    left = min(b.x for b in boxes) - MARGIN
    top = min(b.y for b in boxes) - MARGIN
    right = max(b.right for b in boxes) + MARGIN
    bottom = max(b.y + b.height for b in boxes) + MARGIN
    return (left, top, right - left, bottom - top)


def one_line(text: str, limit: int | None = None) -> str:
    """Text on one line (control characters become spaces), cut with an ellipsis past limit."""
    flat = re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()
    if limit is not None and len(flat) > limit:
        return flat[: limit - 1].rstrip() + "…"
    return flat


def nodes_by_id(spec: TopologySpec) -> dict[str, NodeSpec]:
    # The spec's own node() scans the list; writers look nodes up once per edge.
    return {node.id: node for node in spec.nodes}


def edge_label(nodes: Mapping[str, NodeSpec], edge: EdgeSpec) -> str:
    """What an edge says on a diagram: its own label, else the rule pattern or topic filter."""
    if edge.label:
        return one_line(edge.label, MAX_EDGE_LABEL)
    source, target = nodes[edge.source], nodes[edge.target]
    if source.kind == "event_bus" and target.kind == "rule":
        return one_line(rule_summary(target.settings()), MAX_EDGE_LABEL)
    if source.kind == "topic":
        policy = edge.config.get("filter_policy")
        return one_line(pattern_summary(policy), MAX_EDGE_LABEL) if policy else ""
    return ""


def rule_summary(settings: dict[str, Any]) -> str:
    parts = []
    if settings.get("event_pattern") is not None:
        parts.append(pattern_summary(settings["event_pattern"]))
    if settings.get("schedule_expression"):
        parts.append(settings["schedule_expression"])
    return "; ".join(part for part in parts if part)


def pattern_summary(pattern: Any, prefix: str = "") -> str:
    """An event pattern or filter policy as short text: detail.total numeric > 0, source=a|b."""
    if not isinstance(pattern, dict):
        return ""
    parts: list[str] = []
    for key, value in pattern.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key == "$or" and isinstance(value, list):
            parts.append(" or ".join(f"({pattern_summary(branch)})" for branch in value))
        elif isinstance(value, dict):
            parts.append(pattern_summary(value, path))
        elif isinstance(value, list):
            parts.append(f"{path}={'|'.join(_matcher_text(item) for item in value)}")
    return ", ".join(part for part in parts if part)


def _matcher_text(matcher: Any) -> str:
    if isinstance(matcher, dict):
        return " ".join(f"{op} {_compact(arg)}" for op, arg in matcher.items())
    return _compact(matcher)


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(_compact(item) for item in value)
    return json.dumps(value, ensure_ascii=False)


def file_stem(name: str) -> str:
    """An ASCII file name stem for a topology name (headers and file systems stay happy)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "topology"
