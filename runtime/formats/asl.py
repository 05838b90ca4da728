"""One state machine's definition as an ASL file, and ASL files as state machine nodes."""

from __future__ import annotations

import json
import re
from typing import Any

from runtime.formats.errors import FormatError
from runtime.spec import SCHEMA, TopologySpec

DEFAULT_NODE_ID = "state-machine"


def state_machine_ids(spec: TopologySpec) -> list[str]:
    return [node.id for node in spec.nodes if node.kind == "state_machine"]


def chosen_node(spec: TopologySpec, node_id: str | None = None) -> str:
    """The state machine to export: the one named, or the only one there is."""
    machines = state_machine_ids(spec)
    choices = ", ".join(machines) or "none in this topology"
    if node_id is None:
        if len(machines) != 1:
            raise FormatError(f"choose a state machine with --node ({choices})")
        return machines[0]
    if node_id not in machines:
        raise FormatError(f"{node_id!r} is not a state machine here ({choices})")
    return node_id


def render(spec: TopologySpec, node_id: str | None = None) -> str:
    definition = spec.node(chosen_node(spec, node_id)).settings()["definition"]
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def looks_like_asl(data: Any) -> bool:
    return isinstance(data, dict) and "StartAt" in data and "States" in data


def node_id_from(filename: str) -> str:
    """A node id from a file name such as payment.asl.json; state-machine when none fits."""
    stem = re.sub(r"(\.asl)?\.(json|ya?ml)$", "", filename.rsplit("/", 1)[-1], flags=re.I)
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]+", "-", stem).strip("-._")[:80]
    return cleaned or DEFAULT_NODE_ID


def machine_node(definition: dict[str, Any], node_id: str, x: float, y: float) -> dict[str, Any]:
    config: dict[str, Any] = {"definition": definition}
    if definition.get("QueryLanguage") == "JSONata":
        config["query_language"] = "JSONata"
    label = definition.get("Comment") if isinstance(definition.get("Comment"), str) else ""
    return {
        "id": node_id,
        "kind": "state_machine",
        "label": (label or node_id)[:200],
        "x": x,
        "y": y,
        "config": config,
    }


def to_document(definition: dict[str, Any], filename: str = "") -> dict[str, Any]:
    """A new topology holding the definition as its one state machine node."""
    node_id = node_id_from(filename) if filename else DEFAULT_NODE_ID
    return {
        "schema": SCHEMA,
        "name": node_id,
        "description": "Imported from an Amazon States Language definition.",
        "nodes": [machine_node(definition, node_id, 40, 40)],
        "edges": [],
    }


def add_to_document(
    document: dict[str, Any], definition: dict[str, Any], filename: str = ""
) -> dict[str, Any]:
    """A copy of the document with the definition added as a state machine node below the rest."""
    taken = {node["id"] for node in document.get("nodes", [])}
    base = node_id_from(filename) if filename else DEFAULT_NODE_ID
    node_id, counter = base, 2
    while node_id in taken:
        node_id = f"{base[:76]}-{counter}"
        counter += 1
    lowest = max((node.get("y", 0) for node in document.get("nodes", [])), default=-80)
    nodes = [*document.get("nodes", []), machine_node(definition, node_id, 40, lowest + 120)]
    return {**document, "nodes": nodes}
