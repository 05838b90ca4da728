"""Edge observers of a run: what the live view and the inspector need beyond ``snapshot()``.

The engine keeps plain counters and emits only rare facts (failures, dead letters, state
changes) unless an observer asks for every message. Asking would cost an event per message per
hop, so the ``Recorder`` instead taps each node's documented ``accept(messages, link)`` entry:
one deque extend per batch gives the inspector's last 100 messages per node (with bodies),
a bounded sample of message ids per edge for the canvas animation, and latency samples at the
final targets. Everything here runs in the run's event loop thread and never raises into it.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from runtime.events import (
    Event,
    Message,
    MessageDeadLettered,
    MessageFailed,
    MessageRefused,
    NodeStateChanged,
    RunStateChanged,
)
from runtime.nodes.state_machine import ExecutionStateChanged, ExecutionStatusChanged

KEEP_PER_NODE = 100  # the inspector's "last 100 messages"
SAMPLES_PER_EDGE = 3  # dots per edge per tick: enough to show flow, bounded at any rate
LATENCY_WINDOW = 4096  # recent send→final-target latencies kept for percentiles
STATE_CHANGES_KEPT = 200
MACHINE_STATES_PER_TICK = 50  # state-machine state changes carried by one frame, at most


@dataclass(frozen=True, slots=True)
class Seen:
    """One message as a node received it."""

    at: float
    node: str
    edge: str  # "" when sent by hand
    message: Message

    def to_dict(self) -> dict[str, Any]:
        message = self.message
        return {
            "at": self.at,
            "node": self.node,
            "edge": self.edge,
            "id": message.id,
            "trace_id": message.trace_id,
            "body": message.body,
            "attributes": dict(message.attributes),
            "system": dict(message.system),
            "hops": list(message.hops),
            "created_at": message.created_at,
            "traced": message.traced,
        }


@dataclass(slots=True)
class TickSamples:
    """What happened since the previous tick, beyond the counters."""

    edge_ids: dict[str, list[str]] = field(default_factory=dict)
    flashes: dict[str, str] = field(default_factory=dict)
    node_states: dict[str, str] = field(default_factory=dict)
    run_state: str | None = None
    # State-machine executions: latest status per (node, execution, state), coalesced per tick.
    machine_states: dict[tuple[str, str, str], str] = field(default_factory=dict)


class Recorder:
    """Observer plus accept-tap for one run. ``drain()`` hands the ticker one tick's samples."""

    wants_messages = False

    def __init__(
        self,
        *,
        keep: int = KEEP_PER_NODE,
        samples_per_edge: int = SAMPLES_PER_EDGE,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.keep = keep
        self.samples_per_edge = samples_per_edge
        self.now = now or (lambda: 0.0)
        # Per node, the last batches as (at, edge, messages): one append per batch, whatever
        # its size; ``recent()`` unpacks them into the last ``keep`` messages.
        self.rings: dict[str, deque[tuple[float, str, list[Message]]]] = {}
        self.latency: deque[tuple[float, float]] = deque(maxlen=LATENCY_WINDOW)
        self.state_changes: deque[dict[str, Any]] = deque(maxlen=STATE_CHANGES_KEPT)
        self.errors: deque[dict[str, Any]] = deque(maxlen=KEEP_PER_NODE)
        self._pending = TickSamples()

    # --- tapping the engine ---------------------------------------------------------------------
    def tap(self, engine: Any) -> None:
        """Wrap every node's ``accept`` so arrivals are recorded; the engine is not changed."""
        self.now = engine.clock.now
        for node in engine.nodes.values():
            self.rings[node.id] = deque(maxlen=self.keep)
            terminal = not node.links
            node.accept = self._tapped(node.id, node.accept, terminal)

    def _tapped(
        self, node_id: str, accept: Callable[[list[Message], Any], Awaitable[None]], terminal: bool
    ) -> Callable[[list[Message], Any], Awaitable[None]]:
        ring = self.rings[node_id]
        now = self.now
        recorder = self

        # A plain function returning the node's own coroutine: the engine awaits that, so the
        # tap adds one call and one append per batch, not a coroutine of its own.
        def tapped(messages: list[Message], link: Any) -> Awaitable[None]:
            if messages:
                at = now()
                edge = link.id if link is not None else ""
                ring.append((at, edge, messages))
                pending = recorder._pending
                if edge:
                    ids = pending.edge_ids.get(edge)
                    if ids is None:
                        pending.edge_ids[edge] = [messages[-1].id]
                    elif len(ids) < recorder.samples_per_edge:
                        ids.append(messages[-1].id)
                if terminal:
                    # One sample per batch keeps the cost flat at any rate.
                    latency = at - messages[-1].created_at
                    recorder.latency.append((at, latency))
            return accept(messages, link)

        return tapped

    # --- the observer interface -----------------------------------------------------------------
    def emit(self, event: Event) -> None:
        with contextlib.suppress(Exception):  # an observer must never break the run
            self._emit(event)

    def _emit(self, event: Event) -> None:
        pending = self._pending
        if isinstance(event, RunStateChanged):
            pending.run_state = event.state.value
        elif isinstance(event, NodeStateChanged):
            pending.node_states[event.node] = event.state.value
            self.state_changes.append(
                {"at": event.at, "node": event.node, "state": event.state.value}
            )
        elif isinstance(event, ExecutionStateChanged | ExecutionStatusChanged):
            state = getattr(event, "state", "")
            key = (event.node, event.execution, state)
            if (
                len(pending.machine_states) < MACHINE_STATES_PER_TICK
                or key in pending.machine_states
            ):
                pending.machine_states[key] = event.status
        elif isinstance(event, MessageDeadLettered):
            pending.flashes[event.node] = "dlq"
            if event.dead_letter_queue:
                pending.flashes[event.dead_letter_queue] = "dlq"
            self._error(event.at, event.node, event.message_id, event.error_code, "dead-lettered")
        elif isinstance(event, MessageFailed | MessageRefused):
            pending.flashes.setdefault(event.node, "error")
            code, text = event.error_code, event.error_message
            self._error(event.at, event.node, event.message_id, code, text)

    def _error(self, at: float, node: str, message_id: str, code: str, text: str) -> None:
        self.errors.append(
            {"at": at, "node": node, "message_id": message_id, "code": code, "text": text}
        )

    # --- reading --------------------------------------------------------------------------------
    def drain(self) -> TickSamples:
        samples, self._pending = self._pending, TickSamples()
        return samples

    def recent(self, node_id: str) -> list[Seen]:
        """The node's last ``keep`` messages, newest first."""
        found: list[Seen] = []
        for at, edge, messages in reversed(self.rings.get(node_id, ())):
            for message in reversed(messages):
                found.append(Seen(at, node_id, edge, message))
                if len(found) >= self.keep:
                    return found
        return found

    def clear(self, node_id: str) -> None:
        ring = self.rings.get(node_id)
        if ring is not None:
            ring.clear()

    def find(self, trace_id: str) -> list[Seen]:
        """Every recorded arrival of one trace, in time order: a trace for sampled messages."""
        found = [
            Seen(at, node_id, edge, message)
            for node_id, ring in self.rings.items()
            for at, edge, messages in ring
            for message in messages
            if message.trace_id == trace_id
        ]
        return sorted(found, key=lambda seen: seen.at)

    def percentiles(self, since: float) -> dict[str, float] | None:
        """p50/p95/p99 (seconds) of the final-target latencies recorded after ``since``."""
        values = sorted(value for at, value in self.latency if at >= since)
        if not values:
            return None
        return {
            "n": len(values),
            "p50": percentile(values, 0.50),
            "p95": percentile(values, 0.95),
            "p99": percentile(values, 0.99),
        }


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]
