"""Tests of the node kinds' declarations: config schemas, ports and cross-field rules."""

from __future__ import annotations

from typing import Any

from runtime.nodes.base import Kind


def problems(kind: type[Kind], **config: Any) -> dict[str, str]:
    """A kind's config problems keyed by JSON pointer."""
    return dict(kind.check_config(config))


def edge_problems(kind: type[Kind], **config: Any) -> dict[str, str]:
    return dict(kind.check_edge_config(config))
