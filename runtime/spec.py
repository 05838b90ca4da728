"""The topology document ``flowyard.topology/1``: parsing, validation and the frozen spec.

``load(data)`` turns a decoded document into a ``TopologySpec``; ``loads(text)`` first decodes
JSON text under the import limits (size, nesting depth, number size). Both collect every problem
before raising ``SpecError``, whose ``errors`` are ``(json_pointer, message)`` pairs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.nodes import KINDS

SCHEMA = "flowyard.topology/1"

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_NODES = 2000
MAX_EDGES = 10000
MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1  # what a browser's JSON.parse keeps exactly
MAX_COORDINATE = 1_000_000
MAX_LABEL = 200
MAX_NAME = 200
MAX_DESCRIPTION = 10_000

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}")
TOP_LEVEL_KEYS = {"schema", "name", "description", "nodes", "edges", "meta"}
NODE_KEYS = {"id", "kind", "label", "x", "y", "config"}
EDGE_KEYS = {"id", "source", "target", "label", "config"}

Problem = tuple[str, str]


class SpecError(ValueError):
    """The document is not a valid topology; ``errors`` lists every problem with its place."""

    def __init__(self, errors: list[Problem]) -> None:
        self.errors = errors
        shown = "; ".join(f"{pointer or '/'}: {message}" for pointer, message in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"invalid topology: {shown}{more}")


@dataclass(frozen=True)
class NodeSpec:
    id: str
    kind: str
    label: str
    x: float
    y: float
    config: Mapping[str, Any] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        """The config with the kind's defaults filled in."""
        return KINDS[self.kind].with_defaults(self.config)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "x": self.x,
            "y": self.y,
            "config": _plain(self.config),
        }


@dataclass(frozen=True)
class EdgeSpec:
    id: str
    source: str
    target: str
    label: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "source": self.source, "target": self.target}
        if self.label:
            data["label"] = self.label
        data["config"] = _plain(self.config)
        return data


@dataclass(frozen=True)
class TopologySpec:
    name: str
    nodes: tuple[NodeSpec, ...]
    edges: tuple[EdgeSpec, ...]
    description: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    schema: str = SCHEMA

    def node(self, node_id: str) -> NodeSpec:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def edges_from(self, node_id: str) -> Iterator[EdgeSpec]:
        return (edge for edge in self.edges if edge.source == node_id)

    def edges_to(self, node_id: str) -> Iterator[EdgeSpec]:
        return (edge for edge in self.edges if edge.target == node_id)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": self.schema,
            "name": self.name,
            "description": self.description,
            "nodes": [node.to_dict() for node in self.nodes],
            "edges": [edge.to_dict() for edge in self.edges],
        }
        if self.meta:
            data["meta"] = _plain(self.meta)
        return data


def _plain(value: Any) -> Any:
    # A deep copy through JSON types, so callers never share mutable state with a spec.
    return json.loads(json.dumps(value))


# --- decoding JSON text under the limits -------------------------------------------------------


def loads(text: str | bytes) -> TopologySpec:
    """Decode and validate a document given as JSON text, enforcing the import limits."""
    return load(decode(text))


def decode(text: str | bytes) -> Any:
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > MAX_DOCUMENT_BYTES:
        raise SpecError([("", f"document is {size:,} bytes; the limit is {MAX_DOCUMENT_BYTES:,}")])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SpecError(
                [("", f"not UTF-8 text: {error.reason} at byte {error.start}")]
            ) from None
    depth_problem = _nesting_problem(text)
    if depth_problem:
        raise SpecError([("", depth_problem)])
    try:
        return json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant
        )
    except _NumberError as error:
        raise SpecError([("", f"{error}{_place_of(text, error.token)}")]) from None
    except json.JSONDecodeError as error:
        message = f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        raise SpecError([("", message)]) from None


class _NumberError(ValueError):
    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.token = token


def _shown(token: str) -> str:
    return f"{token[:20]}{'…' if len(token) > 20 else ''}"


def _parse_int(digits: str) -> int:
    # Refused before int() so a million-digit number costs nothing to reject.
    if len(digits.lstrip("-")) > 16 or abs(int(digits)) > MAX_SAFE_INTEGER:
        raise _NumberError(f"number {_shown(digits)} is too large", digits)
    return int(digits)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberError(f"number {_shown(text)} is too large", text)
    return value


def _refuse_constant(name: str) -> Any:
    raise _NumberError(f"{name} is not valid JSON", name)


def _place_of(text: str, token: str) -> str:
    """' at line L, column C' of the first occurrence of a refused token, for the error."""
    index = text.find(token)
    if index < 0:
        return ""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f" at line {line}, column {column}"


def _nesting_problem(text: str) -> str | None:
    """Measures bracket depth outside strings before parsing, so a deep bomb is never built."""
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return f"nesting is deeper than {MAX_DEPTH} levels"
        elif char in "]}":
            depth -= 1
    return None


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded data, stopping once past the limit."""
    if limit < 0:
        return 0
    if isinstance(value, dict):
        return 1 + max((_depth(item, limit - 1) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item, limit - 1) for item in value), default=0)
    return 0


# --- validating the decoded document ------------------------------------------------------------


def load(data: Any) -> TopologySpec:
    """Validate a decoded document and build the frozen spec; raise SpecError listing all errors."""
    if not isinstance(data, dict):
        raise SpecError([("", "a topology document must be a JSON object")])
    if _depth(data, MAX_DEPTH + 1) > MAX_DEPTH:
        raise SpecError([("", f"nesting is deeper than {MAX_DEPTH} levels")])
    problems: list[Problem] = []
    _check_header(data, problems)
    declared: dict[str, str | None] = {}
    nodes = _load_nodes(data.get("nodes"), problems, declared)
    edges = _load_edges(data.get("edges"), declared, problems)
    if problems:
        raise SpecError(problems)
    return TopologySpec(
        name=data["name"],
        description=data.get("description", ""),
        nodes=tuple(nodes),
        edges=tuple(edges),
        meta=data.get("meta", {}),
    )


def _check_header(data: dict[str, Any], problems: list[Problem]) -> None:
    schema = data.get("schema")
    if schema is None:
        problems.append(("/schema", f"missing; expected {SCHEMA!r}"))
    elif schema != SCHEMA:
        problems.append(("/schema", f"unsupported schema version {schema!r}; expected {SCHEMA!r}"))
    for key in sorted(set(data) - TOP_LEVEL_KEYS):
        problems.append((f"/{_escape(key)}", f"unknown field {key!r}"))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(("/name", "must be a non-empty string"))
    elif len(name) > MAX_NAME:
        problems.append(("/name", f"must be at most {MAX_NAME} characters"))
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        problems.append(("/description", f"must be a string of at most {MAX_DESCRIPTION} chars"))
    if not isinstance(data.get("meta", {}), dict):
        problems.append(("/meta", "must be an object"))


def _bounded_list(
    raw: Any, where: str, noun: str, limit: int, problems: list[Problem]
) -> list[Any]:
    """``raw`` when it is a list of at most ``limit`` items; else no items, and the problem."""
    if not isinstance(raw, list):
        problems.append((where, "must be a list"))
        return []
    if len(raw) > limit:
        problems.append((where, f"has {len(raw):,} {noun}; the limit is {limit:,}"))
        return []
    return raw


def _load_nodes(
    raw: Any, problems: list[Problem], declared: dict[str, str | None]
) -> list[NodeSpec]:
    """Valid nodes; ``declared`` gets every id seen, with its kind when known, so edges to a
    node with a bad config are not also reported as dangling."""
    items = _bounded_list(raw, "/nodes", "nodes", MAX_NODES, problems)
    nodes: list[NodeSpec] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        node = _load_node(f"/nodes/{index}", item, problems)
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            kind = item.get("kind")
            declared.setdefault(
                item["id"], kind if isinstance(kind, str) and kind in KINDS else None
            )
        if node is None:
            continue
        if node.id in seen:
            message = f"duplicate node id {node.id!r} (first at /nodes/{seen[node.id]})"
            problems.append((f"/nodes/{index}/id", message))
            continue
        seen[node.id] = index
        nodes.append(node)
    return nodes


def _load_node(where: str, item: Any, problems: list[Problem]) -> NodeSpec | None:
    if not isinstance(item, dict):
        problems.append((where, "a node must be an object"))
        return None
    before = len(problems)
    for key in sorted(set(item) - NODE_KEYS):
        problems.append((f"{where}/{_escape(key)}", f"unknown field {key!r}"))
    node_id = _check_id(f"{where}/id", item.get("id"), problems)
    kind_name = item.get("kind")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        known = ", ".join(sorted(KINDS))
        problems.append((f"{where}/kind", f"unknown kind {kind_name!r}; known kinds: {known}"))
    label = item.get("label", node_id or "")
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        problems.append((f"{where}/label", f"must be a string of at most {MAX_LABEL} characters"))
    x = _check_coordinate(f"{where}/x", item.get("x", 0), problems)
    y = _check_coordinate(f"{where}/y", item.get("y", 0), problems)
    config = item.get("config", {})
    if kind is not None:
        problems.extend(
            (f"{where}/config{pointer}", message) for pointer, message in kind.check_config(config)
        )
    if len(problems) > before or node_id is None or kind is None:
        return None
    return NodeSpec(id=node_id, kind=kind.name, label=label, x=x, y=y, config=config)


def _load_edges(raw: Any, nodes: dict[str, str | None], problems: list[Problem]) -> list[EdgeSpec]:
    if raw is None:
        return []
    items = _bounded_list(raw, "/edges", "edges", MAX_EDGES, problems)
    edges: list[EdgeSpec] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        edge = _load_edge(f"/edges/{index}", item, nodes, problems)
        if edge is None:
            continue
        if edge.id in seen:
            message = f"duplicate edge id {edge.id!r} (first at /edges/{seen[edge.id]})"
            problems.append((f"/edges/{index}/id", message))
            continue
        seen[edge.id] = index
        edges.append(edge)
    return edges


def _load_edge(
    where: str, item: Any, nodes: dict[str, str | None], problems: list[Problem]
) -> EdgeSpec | None:
    if not isinstance(item, dict):
        problems.append((where, "an edge must be an object"))
        return None
    before = len(problems)
    for key in sorted(set(item) - EDGE_KEYS):
        problems.append((f"{where}/{_escape(key)}", f"unknown field {key!r}"))
    edge_id = _check_id(f"{where}/id", item.get("id"), problems)
    ends: dict[str, str | None] = {}
    for end in ("source", "target"):
        node_id = item.get(end)
        if not isinstance(node_id, str):
            problems.append((f"{where}/{end}", "must be a node id"))
        elif node_id not in nodes:
            problems.append((f"{where}/{end}", f"dangling edge: no node {node_id!r}"))
        else:
            ends[end] = nodes[node_id]
    label = item.get("label", "")
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        problems.append((f"{where}/label", f"must be a string of at most {MAX_LABEL} characters"))
    config = item.get("config", {})
    if ends.get("source"):
        source_kind = KINDS[ends["source"]]
        problems.extend(
            (f"{where}/config{pointer}", message)
            for pointer, message in source_kind.check_edge_config(config)
        )
    if len(problems) > before or edge_id is None or not all(ends.values()) or len(ends) < 2:
        return None
    return EdgeSpec(
        id=edge_id, source=item["source"], target=item["target"], label=label, config=config
    )


def _check_id(where: str, value: Any, problems: list[Problem]) -> str | None:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        problems.append(
            (
                where,
                "must be 1-80 letters, digits, '_', '.' or '-', starting with a letter or digit",
            )
        )
        return None
    return value


def _check_coordinate(where: str, value: Any, problems: list[Problem]) -> float:
    valid = isinstance(value, int | float) and not isinstance(value, bool)
    if not valid or not math.isfinite(value) or abs(value) > MAX_COORDINATE:
        problems.append((where, f"must be a number within ±{MAX_COORDINATE:,}"))
        return 0.0
    return value


def _escape(key: str) -> str:
    """A key as a JSON pointer token (RFC 6901)."""
    return str(key).replace("~", "~0").replace("/", "~1")
