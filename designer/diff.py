"""Differences between two topology documents: nodes and edges added, removed or changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HEADER_FIELDS = ("name", "description", "meta")


@dataclass(frozen=True)
class Change:
    id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def fields(self) -> list[str]:
        """Names of the top-level fields that differ (config counts as one field per key)."""
        before, after = self.before or {}, self.after or {}
        keys = (set(before) | set(after)) - {"config"}
        names = [key for key in sorted(keys) if before.get(key) != after.get(key)]
        before_config, after_config = before.get("config", {}), after.get("config", {})
        names += [
            f"config.{key}"
            for key in sorted(set(before_config) | set(after_config))
            if before_config.get(key) != after_config.get(key)
        ]
        return names


@dataclass(frozen=True)
class DocumentDiff:
    added_nodes: list[Change] = field(default_factory=list)
    removed_nodes: list[Change] = field(default_factory=list)
    changed_nodes: list[Change] = field(default_factory=list)
    added_edges: list[Change] = field(default_factory=list)
    removed_edges: list[Change] = field(default_factory=list)
    changed_edges: list[Change] = field(default_factory=list)
    header_changes: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.added_nodes,
                self.removed_nodes,
                self.changed_nodes,
                self.added_edges,
                self.removed_edges,
                self.changed_edges,
                self.header_changes,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        def ids(changes: list[Change]) -> list[str]:
            return [change.id for change in changes]

        return {
            "nodes": {
                "added": ids(self.added_nodes),
                "removed": ids(self.removed_nodes),
                "changed": {change.id: change.fields for change in self.changed_nodes},
            },
            "edges": {
                "added": ids(self.added_edges),
                "removed": ids(self.removed_edges),
                "changed": {change.id: change.fields for change in self.changed_edges},
            },
            "header": self.header_changes,
        }


def _by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


def _compare(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> tuple[list[Change], list[Change], list[Change]]:
    old, new = _by_id(before), _by_id(after)
    added = [Change(key, None, new[key]) for key in new if key not in old]
    removed = [Change(key, old[key], None) for key in old if key not in new]
    changed = [
        Change(key, old[key], new[key]) for key in new if key in old and old[key] != new[key]
    ]
    return added, removed, changed


def diff_documents(before: dict[str, Any], after: dict[str, Any]) -> DocumentDiff:
    added_nodes, removed_nodes, changed_nodes = _compare(
        before.get("nodes", []), after.get("nodes", [])
    )
    added_edges, removed_edges, changed_edges = _compare(
        before.get("edges", []), after.get("edges", [])
    )
    # A missing description or meta is the same as an empty one.
    header = [key for key in HEADER_FIELDS if (before.get(key) or None) != (after.get(key) or None)]
    return DocumentDiff(
        added_nodes, removed_nodes, changed_nodes, added_edges, removed_edges, changed_edges, header
    )
