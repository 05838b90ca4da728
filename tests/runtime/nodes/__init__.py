"""Tests of the node kinds' declarations: config schemas, ports and cross-field rules."""

from __future__ import annotations

from typing import Any

from runtime.nodes.base import Kind


def problems(kind: type[Kind], **config: Any) -> dict[str, str]:
    """A kind's config problems keyed by JSON pointer."""
    return dict(kind.check_config(config))


def edge_problems(kind: type[Kind], **config: Any) -> dict[str, str]:
    return dict(kind.check_edge_config(config))


def lint(kind: type[Kind], **config: Any) -> dict[str, str]:
    """Config problems plus the linter's deep checks, as graph.py runs them on a loaded node."""
    found = kind.check_config(config)
    return dict(found or kind.semantic_checks(kind.with_defaults(config)))


def edge_lint(kind: type[Kind], **config: Any) -> dict[str, str]:
    found = kind.check_edge_config(config)
    return dict(found or kind.semantic_edge_checks({**kind.edge_defaults(), **config}))
