"""A stand-in engine for playbook tests of the gateway pipeline: a manual clock, the real spec,
and nodes that record what reaches them (the gateway only needs ``send``, ``nodes``, ``clock``
and ``arn`` of an engine)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from hosting.gateway.exchange import GatewayRequest
from runtime.clock import ManualClock
from runtime.spec import SCHEMA, TopologySpec, load

KEY = "k" * 24  # a valid API key: 20-128 printable characters


@dataclass
class Sent:
    id: str
    node: str
    body: Any
    attributes: Mapping[str, Any] = field(default_factory=dict)
    system: Mapping[str, Any] = field(default_factory=dict)


class RecordingNode:
    def __init__(self, node_id: str, kind: str) -> None:
        self.id = node_id
        self.kind = kind
        self.links: list[Any] = []
        self.invoke: Callable[[dict[str, Any]], Awaitable[Any]] | None = None


class FakeEngine:
    def __init__(self, spec: TopologySpec, clock: ManualClock | None = None) -> None:
        self.spec = spec
        self.clock = clock or ManualClock(auto_advance=False)
        self.nodes = {node.id: RecordingNode(node.id, node.kind) for node in spec.nodes}
        self.sent: list[Sent] = []
        self._ids = itertools.count(1)

    async def send(
        self,
        node_id: str,
        body: Any,
        attributes: Mapping[str, Any] | None = None,
        *,
        system: Mapping[str, Any] | None = None,
    ) -> Sent:
        message = Sent(f"msg-{next(self._ids)}", node_id, body, attributes or {}, system or {})
        self.sent.append(message)
        return message

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:us-east-1:123456789012:{resource}"

    def function(self, node_id: str, answer: Callable[[dict[str, Any]], Awaitable[Any]]) -> None:
        """Make a function node answer proxy invocations with ``answer(event)``."""
        self.nodes[node_id].invoke = answer

    async def invoke_function(self, node_id: str, event: dict[str, Any]) -> Any:
        answer = self.nodes[node_id].invoke
        assert answer is not None, f"{node_id} has no answer"
        return await answer(event)


def api_document(
    routes: list[dict[str, Any]], *, api_id: str = "api", **config: Any
) -> dict[str, Any]:
    """An http_api node with the given routes plus one node of every integration kind."""
    targets = {
        "bus": "event_bus",
        "jobs": "queue",
        "alerts": "topic",
        "clicks": "stream",
        "flow": "state_machine",
        "handler": "function",
    }
    nodes = [
        {
            "id": api_id,
            "kind": "http_api",
            "label": api_id,
            "x": 0,
            "y": 0,
            "config": {"routes": routes, **config},
        },
    ]
    nodes += [
        {"id": nid, "kind": kind, "label": nid, "x": 0, "y": 0, "config": {}}
        for nid, kind in targets.items()
    ]
    return {"schema": SCHEMA, "name": "Gateway test", "nodes": nodes, "edges": []}


def route(method: str, path: str, action: str, target: str, **extra: Any) -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "integration": {"action": action, "target": target},
        **extra,
    }


def request(
    method: str,
    path: str,
    body: bytes = b"",
    *,
    query: str = "",
    headers: Mapping[str, str] | None = None,
) -> GatewayRequest:
    return GatewayRequest(method, path, query, dict(headers or {}), body)


@pytest.fixture
def make_engine() -> Callable[..., FakeEngine]:
    def build(routes: list[dict[str, Any]], **config: Any) -> FakeEngine:
        return FakeEngine(load(api_document(routes, **config)))

    return build


from tests.hosting.gateway.live import gateway_server  # noqa: E402, F401  (the live-server fixture)
