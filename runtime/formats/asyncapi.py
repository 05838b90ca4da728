"""AsyncAPI 3.0 for the messaging surface: a channel per bus, topic, queue, stream, Kafka topic
and broker destination; send and receive operations for the nodes wired to them; message
examples from the producers that feed them."""

from __future__ import annotations

import re
from typing import Any

from runtime.formats.common import nodes_by_id, one_line
from runtime.formats.reading import dumps_yaml
from runtime.nodes import KINDS
from runtime.spec import EdgeSpec, NodeSpec, TopologySpec

VERSION = "3.0.0"
CHANNEL_KINDS = frozenset({"event_bus", "topic", "queue", "stream", "kafka_topic", "broker"})


def build(spec: TopologySpec) -> dict[str, Any]:
    nodes = nodes_by_id(spec)
    channels = {node.id: channel(node) for node in spec.nodes if node.kind in CHANNEL_KINDS}
    operations: dict[str, Any] = {}
    for edge in spec.edges:
        entry = operation(nodes, edge, channels)
        if entry is not None:
            operations[edge.id] = entry
    document: dict[str, Any] = {
        "asyncapi": VERSION,
        "info": {
            "title": one_line(spec.name) or "Flowyard topology",
            "version": "1.0.0",
            "description": spec.description or "Exported from Flowyard.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
    }
    producers: dict[str, list[NodeSpec]] = {node_id: [] for node_id in channels}
    for edge in spec.edges:
        if edge.target in channels and nodes[edge.source].kind == "producer":
            producers[edge.target].append(nodes[edge.source])
    messages = {
        f"{node_id}-message": message(nodes[node_id], producers[node_id]) for node_id in channels
    }
    if messages:
        document["components"] = {"messages": messages}
    return document


def channel(node: NodeSpec) -> dict[str, Any]:
    kind = KINDS[node.kind]
    return {
        "address": address(node),
        "title": one_line(node.label or node.id),
        "description": f"{kind.models}: {kind.description}",
        "messages": {
            "message": {"$ref": f"#/components/messages/{node.id}-message"},
        },
    }


def address(node: NodeSpec) -> str:
    if node.kind == "event_bus":
        return node.settings()["bus_name"]
    return node.id


def operation(
    nodes: dict[str, NodeSpec], edge: EdgeSpec, channels: dict[str, Any]
) -> dict[str, Any] | None:
    """send when a node writes into a channel, receive when a node reads from one."""
    source, target = nodes[edge.source], nodes[edge.target]
    if target.id in channels:
        action, on, actor = "send", target, source
    elif source.id in channels:
        action, on, actor = "receive", source, target
    else:
        return None
    verb = "sends to" if action == "send" else "receives from"
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{on.id}"},
        "title": one_line(f"{actor.label or actor.id} {verb} {on.label or on.id}"),
        "summary": f"{KINDS[actor.kind].label} {actor.id} {verb} {on.id}",
        "messages": [{"$ref": f"#/channels/{on.id}/messages/message"}],
    }


def message(node: NodeSpec, producers: list[NodeSpec]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": f"{node.id}-message",
        "title": one_line(f"Message on {node.label or node.id}"),
        "contentType": "application/json",
        "payload": ANY_JSON,
    }
    examples = [
        {
            "name": producer.id,
            "summary": f"Sent by {producer.id}",
            "payload": sample(node, producer),
        }
        for producer in producers
    ]
    if examples:
        entry["examples"] = examples
        shapes = unique_schemas(schema_of(example["payload"]) for example in examples)
        entry["payload"] = shapes[0] if len(shapes) == 1 else {"oneOf": shapes}
    return entry


ANY_JSON = {"type": ["object", "array", "string", "number", "boolean", "null"]}
# A producer string that is exactly one of these placeholders is sent as a number.
NUMERIC_PLACEHOLDER = re.compile(r"\{\{\s*(n|int -?\d+ -?\d+)\s*\}\}")


def schema_of(example: Any) -> dict[str, Any]:
    """A JSON Schema describing the shape of an example payload."""
    if isinstance(example, dict):
        return {
            "type": "object",
            "properties": {str(key): schema_of(value) for key, value in example.items()},
        }
    if isinstance(example, list):
        return {"type": "array", "items": schema_of(example[0]) if example else {}}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int) or (
        isinstance(example, str) and NUMERIC_PLACEHOLDER.fullmatch(example)
    ):
        return {"type": "integer"}
    if isinstance(example, float):
        return {"type": "number"}
    if example is None:
        return {"type": "null"}
    return {"type": "string"}


def unique_schemas(schemas: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for schema in schemas:
        if schema not in found:
            found.append(schema)
    return found


def sample(channel_node: NodeSpec, producer: NodeSpec) -> Any:
    """What the producer puts on the channel: its body, in an event envelope on a bus."""
    settings = producer.settings()
    if channel_node.kind != "event_bus":
        return settings["body"]
    return {
        "source": settings["source"],
        "detail-type": settings["detail_type"],
        "detail": settings["body"],
    }


def render(spec: TopologySpec) -> tuple[str, list[str]]:
    return dumps_yaml(build(spec)), []
