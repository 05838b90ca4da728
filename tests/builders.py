"""Plain builders for topology documents and topologies, shared by the test modules."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.test import Client

from runtime.spec import SCHEMA


def node(
    node_id: str,
    kind: str,
    *,
    label: str | None = None,
    x: float = 0,
    y: float = 0,
    **config: Any,
) -> dict[str, Any]:
    return {
        "id": node_id,
        "kind": kind,
        "label": node_id if label is None else label,
        "x": x,
        "y": y,
        "config": config,
    }


def edge(edge_id: str, source: str, target: str, **config: Any) -> dict[str, Any]:
    return {"id": edge_id, "source": source, "target": target, "config": config}


def producer_node(node_id: str = "orders-in", **config: Any) -> dict[str, Any]:
    return node(node_id, "producer", **config)


def queue_node(node_id: str = "orders", **config: Any) -> dict[str, Any]:
    return node(node_id, "queue", **config)


def function_node(node_id: str = "worker", **config: Any) -> dict[str, Any]:
    return node(node_id, "function", **config)


def log_node(node_id: str = "sink", **config: Any) -> dict[str, Any]:
    return node(node_id, "log", **config)


def make_document(
    *,
    name: str = "Orders",
    description: str = "",
    nodes: Iterable[dict[str, Any]] = (),
    edges: Iterable[dict[str, Any]] = (),
    **extra: Any,
) -> dict[str, Any]:
    """A document in the shape ``Topology`` stores it (every node and edge carries a config)."""
    return {
        "schema": SCHEMA,
        "name": name,
        "description": description,
        "nodes": list(nodes),
        "edges": list(edges),
        **extra,
    }


def pipeline_document(name: str = "Orders", **extra: Any) -> dict[str, Any]:
    """producer → queue → function → log: valid and free of lint errors."""
    return make_document(
        name=name,
        nodes=[producer_node(), queue_node(), function_node(), log_node()],
        edges=[
            edge("in-queue", "orders-in", "orders"),
            edge("queue-worker", "orders", "worker"),
            edge("worker-sink", "worker", "sink"),
        ],
        **extra,
    )


def to_json_bytes(document: Any) -> bytes:
    return json.dumps(document).encode()


def nested(depth: int) -> dict[str, Any]:
    """An object nested ``depth`` levels deep: {"a": {"a": ... {} }}."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def logged_in(user: Any, *, csrf: bool = False) -> Client:
    """A test client with a session for ``user``; ``csrf`` makes it enforce CSRF like a browser."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client
