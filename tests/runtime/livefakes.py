"""A stand-in engine for the live edge's tests: the documented surface, none of the semantics."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.clock import ManualClock
from runtime.events import (
    RUN_TRANSITIONS,
    IllegalTransition,
    Message,
    RunState,
    RunStateChanged,
)
from runtime.spec import TopologySpec


class FakeLink:
    def __init__(self, edge_id: str, target: FakeNode) -> None:
        self.id = edge_id
        self.target = target
        self.count = 0


class FakeNode:
    def __init__(self, node_id: str, kind: str) -> None:
        self.id = node_id
        self.kind = kind
        self.links: list[FakeLink] = []
        self.received = 0
        self.sent = 0
        self.errors = 0

    async def accept(self, messages: list[Message], link: Any) -> None:
        self.received += len(messages)
        for out in self.links:
            out.count += len(messages)
            self.sent += len(messages)
            await out.target.accept(messages, out)


class FakeEngine:
    """Nodes pass messages straight along their edges; counters, states and sends are real."""

    def __init__(
        self,
        spec: TopologySpec,
        observer: Any = None,
        store: Any = None,
        *,
        fail_start: bool = False,
    ):
        self.spec = spec
        self.clock = ManualClock(auto_advance=False)
        self.observer = observer
        self.state = RunState.CREATED
        self.fail_start = fail_start
        self.store = store
        self.nodes = {node.id: FakeNode(node.id, node.kind) for node in spec.nodes}
        for edge in spec.edges:
            self.nodes[edge.source].links.append(FakeLink(edge.id, self.nodes[edge.target]))
        self.stopped_with: str | None = None

    def _set(self, state: RunState) -> None:
        if state not in RUN_TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.state.value} → {state.value}")
        previous, self.state = self.state, state
        if self.observer is not None:
            self.observer.emit(RunStateChanged(self.clock.now(), state, previous))

    async def start(self) -> None:
        self._set(RunState.STARTING)
        if self.fail_start:
            raise RuntimeError("the store is unreachable")
        self._set(RunState.RUNNING)

    async def stop(self, reason: str = "") -> None:
        if self.state in (RunState.STOPPED, RunState.FAILED):
            return
        self._set(RunState.STOPPING)
        await asyncio.sleep(0)
        self.stopped_with = reason
        self._set(RunState.STOPPED)

    def pause(self) -> None:
        self._set(RunState.PAUSED)

    def resume(self) -> None:
        self._set(RunState.RUNNING)

    async def send(self, node_id: str, body: Any, attributes: Any = None) -> Message:
        message = Message.new(
            body, now=self.clock.now(), attributes=attributes, node=node_id, traced=True
        )
        await self.nodes[node_id].accept([message], None)
        return message

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "at": self.clock.now(),
            "nodes": {
                node.id: {
                    "kind": node.kind,
                    "state": "running",
                    "in": node.received,
                    "out": node.sent,
                    "errors": node.errors,
                    "depth": node.received - node.sent if node.kind == "queue" else 0,
                }
                for node in self.nodes.values()
            },
            "edges": {link.id: link.count for node in self.nodes.values() for link in node.links},
        }


async def drop_frames(topology_id: Any, frame: dict[str, Any]) -> bool:
    """A live-frame sink that accepts and forgets every frame (supervisors in tests)."""
    return True
