"""Live updates (edge): the one door to the browser, and the per-run ticker that feeds it.

``publish(topology_id, frame)`` is the only caller of ``group_send`` in the project: every
frame for the group ``topology-<id>`` goes through it. The ``Ticker`` reads ``engine.snapshot()``
once per tick (``FLOWYARD_LIVE_TICK``, default 50 ms) and coalesces whatever happened into at
most one frame, so the browser's frame rate never grows with the message rate.

Frames are JSON objects:

* ``{"type": "snapshot", "run", "seq", "state", "nodes": {id: {"c": counters, "g": gauges,
  "s": state}}, "edges": {id: count}}`` on connect and on request: absolute values.
* ``{"type": "tick", "run", "seq", "at", "dt", "state", "nodes": {id: {"d": counter deltas,
  "g": gauges, "s": state}}, "edges": {id: {"d": delta, "ids": [sampled message ids]}},
  "flash": {node: "error"|"dlq"}, "sm": [{"node", "execution", "state", "status"}],
  "latency": {"n", "p50", "p95", "p99"}}`` per tick.

Counters travel as deltas against the previous frame of the same run (``seq`` counts them, so a
client that misses one asks for a snapshot); gauges always travel absolute.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

from runtime.nodes.behaviour import Stats
from runtime.observers import Recorder, TickSamples

log = logging.getLogger(__name__)

FRAME_TYPE = "live.frame"  # dispatched to TopologyConsumer.live_frame
COUNTERS = frozenset(Stats().to_dict())
DESCRIPTIVE = frozenset({"kind", "state"})
HEARTBEAT_SECONDS = 1.0  # an idle run still sends a frame this often, so clients see it live
LATENCY_EVERY_SECONDS = 1.0
LATENCY_WINDOW_SECONDS = 5.0


def group_name(topology_id: int | str) -> str:
    return f"topology-{topology_id}"


# --- the door -------------------------------------------------------------------------------------


class _Loops:
    """The event loop the websocket consumers of this process run on.

    The in-memory channel layer is plain asyncio and not thread-safe, so a run (which lives in
    the supervisor's own thread) must hand its frames to the consumers' loop. Consumers register
    it when they connect; the Redis layer needs no hop.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.consumers: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        with self.lock:
            self.consumers = loop

    def target(self) -> asyncio.AbstractEventLoop | None:
        loop = self.consumers
        if loop is None or loop.is_closed() or not loop.is_running():
            return None
        return loop


loops = _Loops()


def attach_consumer_loop(loop: asyncio.AbstractEventLoop) -> None:
    loops.attach(loop)


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), default=str)


async def publish(topology_id: int | str, frame: dict[str, Any]) -> None:
    """Send one frame to everyone watching the topology (the only group_send in the project)."""
    layer = get_channel_layer()
    if layer is None:
        return
    await layer.group_send(group_name(topology_id), {"type": FRAME_TYPE, "text": encode(frame)})


async def deliver(topology_id: int | str, frame: dict[str, Any], *, timeout: float = 2.0) -> bool:
    """``publish`` from any thread's loop: hops to the consumers' loop for the in-memory layer.

    Returns False when the frame could not be handed over (nobody in this process listens, or
    the layer stalled); a lost frame costs only freshness since clients resync on a seq gap.
    """
    layer = get_channel_layer()
    if layer is None:
        return False
    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the caller's cancellation
    # when its own timeout fires at the same moment, and then a stopping run's ticker ticks on.
    try:
        async with asyncio.timeout(timeout):
            if not isinstance(layer, InMemoryChannelLayer):
                await publish(topology_id, frame)
                return True
            target = loops.target()
            if target is None:
                return False
            if target is asyncio.get_running_loop():
                await publish(topology_id, frame)
                return True
            future = asyncio.run_coroutine_threadsafe(publish(topology_id, frame), target)
            await asyncio.wrap_future(future)
            return True
    except Exception:  # noqa: BLE001 - the live view is best effort; the run must go on
        log.warning("live frame for topology %s not delivered", topology_id, exc_info=True)
        return False


# --- coalescing -----------------------------------------------------------------------------------


def split_node(data: dict[str, Any]) -> tuple[dict[str, int], dict[str, Any]]:
    """A snapshot node entry as (counters, gauges); kind and state are neither."""
    counters: dict[str, int] = {}
    gauges: dict[str, Any] = {}
    for key, value in data.items():
        if key in COUNTERS:
            counters[key] = value
        elif key not in DESCRIPTIVE:
            gauges[key] = value
    return counters, gauges


class FrameBuilder:
    """Turns successive snapshots into frames; keeps the base the next deltas start from."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.seq = 0
        self.state = "created"
        self.at = 0.0
        self.counters: dict[str, dict[str, int]] = {}
        self.gauges: dict[str, dict[str, Any]] = {}
        self.node_states: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.edges: dict[str, int] = {}
        self.last_sent = 0.0

    def snapshot(self) -> dict[str, Any]:
        """The absolute state as of frame ``seq``: what a (re)connecting client starts from."""
        nodes = {
            node_id: {
                "k": self.kinds.get(node_id, ""),
                "c": dict(self.counters.get(node_id, {})),
                "g": dict(self.gauges.get(node_id, {})),
                "s": self.node_states.get(node_id, ""),
            }
            for node_id in self.kinds
        }
        return {
            "type": "snapshot",
            "run": self.run_id,
            "seq": self.seq,
            "at": self.at,
            "state": self.state,
            "nodes": nodes,
            "edges": dict(self.edges),
        }

    def build(
        self,
        snapshot: dict[str, Any],
        samples: TickSamples | None = None,
        *,
        wall: float,
        latency: dict[str, float] | None = None,
        force: bool = False,
    ) -> dict[str, Any] | None:
        """The frame for this tick, or None when nothing changed and no heartbeat is due."""
        samples = samples or TickSamples()
        nodes: dict[str, dict[str, Any]] = {}
        for node_id, data in snapshot.get("nodes", {}).items():
            entry = self._node_entry(node_id, data)
            if entry:
                nodes[node_id] = entry
        edges: dict[str, dict[str, Any]] = {}
        for edge_id, count in snapshot.get("edges", {}).items():
            delta = count - self.edges.get(edge_id, 0)
            self.edges[edge_id] = count
            if delta:
                edge: dict[str, Any] = {"d": delta}
                ids = samples.edge_ids.get(edge_id)
                if ids:
                    edge["ids"] = ids
                edges[edge_id] = edge
        state = snapshot.get("state", self.state)
        changed = bool(
            nodes
            or edges
            or samples.flashes
            or samples.machine_states
            or state != self.state
            or latency
        )
        dt = snapshot.get("at", self.at) - self.at if self.seq else 0.0
        self.state = state
        self.at = snapshot.get("at", self.at)
        if not (changed or force or wall - self.last_sent >= HEARTBEAT_SECONDS):
            return None
        self.seq += 1
        self.last_sent = wall
        frame: dict[str, Any] = {
            "type": "tick",
            "run": self.run_id,
            "seq": self.seq,
            "at": self.at,
            "dt": round(dt, 4),
            "state": state,
            "nodes": nodes,
            "edges": edges,
        }
        if samples.flashes:
            frame["flash"] = samples.flashes
        if samples.machine_states:
            frame["sm"] = [
                {"node": node, "execution": execution, "state": state, "status": status}
                for (node, execution, state), status in samples.machine_states.items()
            ]
        if latency:
            frame["latency"] = latency
        return frame

    def _node_entry(self, node_id: str, data: dict[str, Any]) -> dict[str, Any]:
        counters, gauges = split_node(data)
        self.kinds[node_id] = data.get("kind", "")
        before = self.counters.get(node_id, {})
        deltas = {key: value - before.get(key, 0) for key, value in counters.items()}
        deltas = {key: value for key, value in deltas.items() if value}
        self.counters[node_id] = counters
        entry: dict[str, Any] = {}
        if deltas:
            entry["d"] = deltas
        if gauges:
            # Gauges travel absolute but only when they moved, so idle nodes cost nothing.
            if gauges != self.gauges.get(node_id):
                entry["g"] = gauges
            self.gauges[node_id] = gauges
        state = data.get("state", "")
        if state != self.node_states.get(node_id):
            entry["s"] = state
            self.node_states[node_id] = state
        return entry


async def stream_lag(engine: Any) -> dict[str, dict[str, Any]]:
    """Records each stream consumer has yet to read, summed over shards: {stream: {"lag":
    {consumer: records}}}. Streams keep per-consumer positions by (edge, shard)."""
    found: dict[str, dict[str, Any]] = {}
    store = getattr(engine, "store", None)
    for node in getattr(engine, "nodes", {}).values():
        positions = getattr(node, "positions", None)
        shards = getattr(node, "shards", None)
        if node.kind != "stream" or not isinstance(positions, dict) or store is None:
            continue
        try:
            bounds = [await store.log_bounds(node.id, shard) for shard in range(int(shards))]
        except Exception:  # noqa: BLE001 - a gauge is best effort
            continue
        lag = {}
        for link in node.links:
            lag[link.target.id] = sum(
                max(0, end - max(start, positions.get((link.id, shard), start)))
                for shard, (start, end) in enumerate(bounds)
            )
        found[node.id] = {"lag": lag}
    return found


async def count_shared_queues(engine: Any) -> None:
    """Refresh the depths of queues kept in a store shared by processes (Redis): their gauges
    are counted by a store call, not read from memory at every tick."""
    for node in getattr(engine, "nodes", {}).values():
        if node.kind == "queue" and getattr(node, "memory", True) is None:
            with contextlib.suppress(Exception):  # a gauge is best effort
                await node.counts()


SHARED_COUNT_EVERY = 1.0  # seconds between counts of shared queues (each is a store call)


# --- the ticker -----------------------------------------------------------------------------------

Deliver = Callable[[int | str, dict[str, Any]], Awaitable[bool]]


def tick_seconds() -> float:
    from django.conf import settings

    return float(getattr(settings, "FLOWYARD_LIVE_TICK", 0.05))


class Ticker:
    """Reads the engine once per tick and publishes at most one frame; runs in the run's loop."""

    def __init__(
        self,
        topology_id: int | str,
        engine: Any,
        recorder: Recorder,
        run_id: str,
        *,
        interval: float | None = None,
        send: Deliver = deliver,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.topology_id = topology_id
        self.engine = engine
        self.recorder = recorder
        self.builder = FrameBuilder(run_id)
        self.interval = interval if interval is not None else tick_seconds()
        self.send = send
        self.sleep = sleep
        self.wall = wall
        self.frames = 0
        self.stopped = False
        self._latency_at = 0.0
        self._counted_at = -SHARED_COUNT_EVERY

    async def run(self) -> None:
        """Tick at a fixed rate until cancelled; the owner calls ``flush()`` after the engine
        stops. A slow tick (a busy server) delays the next one but never adds ticks to catch up."""
        due = self.wall() + self.interval
        while not self.stopped:  # the flag too: a cancellation swallowed below must not win
            await self.sleep(max(0.0, due - self.wall()))
            await self.tick()
            due = max(due + self.interval, self.wall())

    async def tick(self, *, force: bool = False) -> None:
        lag = await stream_lag(self.engine)
        if force or self.wall() - self._counted_at >= SHARED_COUNT_EVERY:
            self._counted_at = self.wall()
            await count_shared_queues(self.engine)
        frame = self.build(force=force, extra=lag)
        if frame is not None:
            self.frames += 1
            await self.send(self.topology_id, frame)

    def build(
        self, *, force: bool = False, extra: dict[str, dict[str, Any]] | None = None
    ) -> dict[str, Any] | None:
        wall = self.wall()
        latency = None
        if wall - self._latency_at >= LATENCY_EVERY_SECONDS:
            self._latency_at = wall
            now = self.engine.clock.now()
            latency = self.recorder.percentiles(now - LATENCY_WINDOW_SECONDS)
        snapshot = self.engine.snapshot()
        for node_id, gauges in (extra or {}).items():
            if node_id in snapshot["nodes"]:
                snapshot["nodes"][node_id].update(gauges)
        return self.builder.build(
            snapshot, self.recorder.drain(), wall=wall, latency=latency, force=force
        )

    async def flush(self) -> None:
        """The last frame of a run (its final counters and state), sent even if nothing moved."""
        with contextlib.suppress(Exception):
            await self.tick(force=True)

    def snapshot(self) -> dict[str, Any]:
        return self.builder.snapshot()
