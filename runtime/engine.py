"""The engine: runs a topology spec with the services' semantics in one asyncio TaskGroup.

``Engine(spec)`` builds one running node per spec node and one link per edge. ``await start()``
enters the TaskGroup and starts every node's named tasks (producers, pollers, outboxes, the timer
dispatcher); ``await stop()`` cancels them and leaves the group, and the stats stay readable.
``send(node_id, body)`` injects a traced message, like the designer's Send button.

The hot path keeps no task, copy or re-parse per message: nodes hand batches to each other by
direct calls, counters are plain integers, and observers read ``snapshot()`` at ticks. Timers
(retries, visibility deadlines, schedules) are clock callbacks feeding one dispatcher task.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import random
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from runtime.clock import Clock, ManualClock, RealClock
from runtime.events import (
    RUN_TRANSITIONS,
    Event,
    Hop,
    IllegalTransition,
    Message,
    MessageAcked,
    MessageDeadLettered,
    MessageDroppedByFilter,
    MessageFailed,
    MessageReceived,
    MessageRefused,
    MessageSent,
    NodeState,
    NodeStateChanged,
    NullObserver,
    Observer,
    RunState,
    RunStateChanged,
    StatsTicked,
)
from runtime.nodes import KINDS
from runtime.nodes.behaviour import Link, NodeRuntime
from runtime.nodes.broker import BrokerNode
from runtime.nodes.email import EmailNode
from runtime.nodes.event_bus import EventBusNode
from runtime.nodes.function import FunctionNode
from runtime.nodes.graphql_api import GraphqlApiNode
from runtime.nodes.http_api import HttpApiNode
from runtime.nodes.kafka_topic import KafkaTopicNode
from runtime.nodes.log import LogNode
from runtime.nodes.partner_source import PartnerSourceNode
from runtime.nodes.producer import ProducerNode
from runtime.nodes.queue import QueueNode
from runtime.nodes.rule import RuleNode
from runtime.nodes.sms import SmsNode
from runtime.nodes.state_machine import StateMachineNode
from runtime.nodes.stream import StreamNode
from runtime.nodes.topic import TopicNode
from runtime.nodes.webhook import WebhookNode
from runtime.spec import TopologySpec
from runtime.store import MemoryStore, Store

# The behaviour of each kind: the one list the engine builds nodes from.
NODE_CLASSES: dict[str, type[NodeRuntime]] = {
    "producer": ProducerNode,
    "partner_source": PartnerSourceNode,
    "http_api": HttpApiNode,
    "graphql_api": GraphqlApiNode,
    "event_bus": EventBusNode,
    "rule": RuleNode,
    "topic": TopicNode,
    "queue": QueueNode,
    "stream": StreamNode,
    "kafka_topic": KafkaTopicNode,
    "broker": BrokerNode,
    "function": FunctionNode,
    "state_machine": StateMachineNode,
    "webhook": WebhookNode,
    "email": EmailNode,
    "sms": SmsNode,
    "log": LogNode,
}

HEADLESS_GC_THRESHOLD = (50_000, 20, 20)
EmailSender = Callable[[dict[str, Any]], Awaitable[None] | None]


@dataclass(frozen=True)
class EngineSettings:
    """Run-wide knobs; the edge fills them from Django settings."""

    account: str = "123456789012"
    region: str = "us-east-1"
    # SSRF allow-list for webhooks: host names, IP addresses or CIDR blocks.
    allow_hosts: tuple[str, ...] = ()
    http_max_redirects: int = 3
    provenance_per_node: int = 64
    sample_every: int = 16
    max_traces: int = 200
    max_trace_hops: int = 500
    tick_interval: float | None = None
    # Dedicated runtime processes (the CLI, workers, benchmarks) may raise the collector's
    # first threshold: a run allocates short-lived envelopes at a high rate, and CPython's
    # default (700) makes it rescan them constantly. None leaves the process's setting alone.
    gc_threshold: tuple[int, int, int] | None = None
    email_sender: EmailSender | None = None
    # Test seam: replaces the outbound HTTP client (runtime.outbound.post).
    http_post: Callable[..., Awaitable[Any]] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class Engine:
    """One run of one topology. See the module docstring for the life cycle."""

    def __init__(
        self,
        spec: TopologySpec,
        *,
        clock: Clock | None = None,
        store: Store | None = None,
        observer: Observer | None = None,
        rng: random.Random | None = None,
        settings: EngineSettings | None = None,
        **overrides: Any,
    ) -> None:
        self.spec = spec
        self.clock = clock or RealClock()
        self.store = store or MemoryStore()
        self.observer: Observer = observer or NullObserver()
        self.rng = rng or random.Random()
        self.settings = replace(settings or EngineSettings(), **overrides)
        prefix = f"{self.rng.getrandbits(64):016x}"
        # Ids look like v4 UUIDs: a random per-run prefix and a counter, cheap on the hot path.
        self._id_prefix = f"{prefix[:8]}-{prefix[8:12]}-4{prefix[13:16]}-a{prefix[:3]}-"
        self._ids = itertools.count(1)
        self.message_events = bool(getattr(self.observer, "wants_messages", False))
        self.state = RunState.CREATED
        self.observer_errors = 0
        self._gc_before: tuple[int, int, int] | None = None
        self.traces: OrderedDict[str, list[Hop]] = OrderedDict()
        self.nodes: dict[str, NodeRuntime] = {}
        self.links: dict[str, Link] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._due: deque[tuple[Callable[..., Awaitable[None]], tuple[Any, ...]]] = deque()
        self._dispatch_waiter: asyncio.Future[None] | None = None
        self._resumed: asyncio.Future[None] | None = None
        self._build()

    # --- building -------------------------------------------------------------------------------
    def _build(self) -> None:
        for node_spec in self.spec.nodes:
            self.nodes[node_spec.id] = NODE_CLASSES[node_spec.kind](node_spec, self)
        for edge in self.spec.edges:
            source, target = self.nodes[edge.source], self.nodes[edge.target]
            config = {**KINDS[source.kind].edge_defaults(), **edge.config}
            link = Link(edge.id, source, target, config)
            if target.slow:
                link.outbox = deque()
            source.links.append(link)
            target.inbound.append(link)
            self.links[edge.id] = link
        for node in self.nodes.values():
            node.setup()

    def new_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):012x}"

    def node(self, node_id: str) -> NodeRuntime:
        return self.nodes[node_id]

    # --- life cycle -----------------------------------------------------------------------------
    def _set_state(self, state: RunState, reason: str = "") -> None:
        if state not in RUN_TRANSITIONS[self.state]:
            raise IllegalTransition(f"a {self.state.value} run cannot become {state.value}")
        previous, self.state = self.state, state
        self.emit(RunStateChanged(self.clock.now(), state, previous, reason))

    async def start(self) -> None:
        """Enter the run's TaskGroup and start every node's tasks."""
        self._set_state(RunState.STARTING)
        if self.settings.gc_threshold is not None:
            self._gc_before = gc.get_threshold()
            gc.set_threshold(*self.settings.gc_threshold)
        for node in self.nodes.values():
            await node.start()
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._spawn("engine:timers", self._dispatch)
        if self.settings.tick_interval:
            self._spawn("engine:ticks", self._tick)
        for link in self.links.values():
            if link.outbox is not None:
                self._spawn(f"outbox:{link.id}", self._outbox_runner(link))
        for node in self.nodes.values():
            for name, factory in node.tasks():
                self._spawn(f"{node.id}:{name}", self._guarded(node, factory))
            if node.state is NodeState.IDLE:
                self._node_state(node, NodeState.RUNNING)
        self._set_state(RunState.RUNNING)

    def _spawn(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        assert self._tg is not None
        self._tasks.append(self._tg.create_task(factory(), name=name))  # type: ignore[arg-type]

    def _guarded(self, node: NodeRuntime, factory: Callable[[], Awaitable[None]]) -> Any:
        # A node's crash is reported and contained, so one bad node never ends the whole run.
        async def run() -> None:
            try:
                await factory()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - reported as the node's failure
                node.stats.errors += 1
                self._node_state(node, NodeState.STOPPED, f"{type(error).__name__}: {error}")

        return run

    async def stop(self, reason: str = "") -> None:
        """Cancel every task, leave the TaskGroup; counters stay readable."""
        if self.state in (RunState.STOPPED, RunState.FAILED):
            return
        if self.state is RunState.CREATED:
            self._set_state(RunState.STOPPED, reason)
            return
        self._set_state(RunState.STOPPING, reason)
        if self._resumed is not None and not self._resumed.done():
            self._resumed.set_result(None)
        for task in self._tasks:
            task.cancel()
        if self._tg is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._tg.__aexit__(None, None, None)
        self._tasks.clear()
        for node in self.nodes.values():
            self._node_state(node, NodeState.STOPPED)
        if self._gc_before is not None:
            gc.set_threshold(*self._gc_before)
            self._gc_before = None
        self._set_state(RunState.STOPPED, reason)

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def pause(self) -> None:
        """Hold producers and consumers; messages already stored wait."""
        self._set_state(RunState.PAUSED)
        self._resumed = asyncio.get_running_loop().create_future()

    def resume(self) -> None:
        self._set_state(RunState.RUNNING)
        if self._resumed is not None and not self._resumed.done():
            self._resumed.set_result(None)
        self._resumed = None

    async def gate(self) -> None:
        """Producers and pollers pass here before each batch; it blocks while paused."""
        if self._resumed is not None:
            await self._resumed

    async def run_for(self, seconds: float) -> None:
        """Start, let it run ``seconds`` on the engine's clock, stop."""
        await self.start()
        try:
            await self.clock.sleep(seconds)
        finally:
            await self.stop()

    # --- injecting ------------------------------------------------------------------------------
    async def send(
        self,
        node_id: str,
        body: Any,
        attributes: Mapping[str, Any] | None = None,
        *,
        system: Mapping[str, Any] | None = None,
    ) -> Message:
        """Inject a message from outside into a node (the Send button, the CLI); it is traced."""
        node = self.nodes.get(node_id)
        if node is None:
            raise KeyError(f"no node {node_id!r} in this topology")
        return await node.inject(body, attributes, system)

    # --- timers ---------------------------------------------------------------------------------
    def later(self, delay: float, action: Callable[..., Awaitable[None]], *args: Any) -> Any:
        """Run ``await action(*args)`` after ``delay`` on the run's clock, in the dispatcher."""

        def due() -> None:
            self._due.append((action, args))
            waiter = self._dispatch_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

        return self.clock.call_later(delay, due)

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._due:
                action, args = self._due.popleft()
                try:
                    await action(*args)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - a timer's failure must not stop the others
                    continue
            self._dispatch_waiter = loop.create_future()
            await self._dispatch_waiter
            self._dispatch_waiter = None

    def wake_link(self, link: Link) -> None:
        waiter = link.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _outbox_runner(self, link: Link) -> Callable[[], Awaitable[None]]:
        from runtime.nodes.behaviour import DeliveryFailed

        async def run() -> None:
            loop = asyncio.get_running_loop()
            outbox = link.outbox
            assert outbox is not None
            while True:
                if not outbox:
                    link.waiter = loop.create_future()
                    await link.waiter
                    link.waiter = None
                    continue
                messages, attempt = outbox.popleft()
                try:
                    await link.target.accept(messages, link)
                except DeliveryFailed as error:
                    link.source.delivery_failed(link, messages, error, attempt)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - counted, the outbox keeps going
                    link.target.fail("InternalFailure", str(error), messages, attempt)

        return run

    async def _tick(self) -> None:
        interval = self.settings.tick_interval or 1.0
        while True:
            await self.clock.sleep(interval)
            self.emit(StatsTicked(self.clock.now(), self.snapshot()))

    # --- test helpers ---------------------------------------------------------------------------
    async def settle(self, rounds: int = 3, timeout: float = 5.0) -> None:
        """Let every runnable task reach a waiting point (no virtual time passes).

        Idle means: nothing ready to run, no timer action queued, no outbox holding work and
        no store call in flight, three checks in a row. A store across the network answers
        through the selector, so its round trips are waited for in real time (bounded).
        ``rounds`` is a lower bound on the passes made, for callers that want more.
        """
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout
        idle = 0
        while loop.time() < give_up:
            store_busy = bool(getattr(self.store, "busy", 0))
            await asyncio.sleep(0.0005 if store_busy else 0)
            busy = (
                bool(self._due)
                or bool(getattr(self.store, "busy", 0))
                or any(link.outbox for link in self.links.values() if link.outbox is not None)
            )
            ready = getattr(loop, "_ready", None)
            rounds -= 1
            if not busy and (ready is None or len(ready) == 0):
                idle += 1
                if idle >= 3 and rounds <= 0:
                    return
            else:
                idle = 0

    async def advance(self, seconds: float) -> None:
        """With a ManualClock: move time forward, firing every timer in order and settling."""
        clock = self.clock
        if not isinstance(clock, ManualClock):
            await clock.sleep(seconds)
            return
        await self.settle()
        target = clock.now() + seconds
        while True:
            deadline = clock.next_deadline
            if deadline is None or deadline > target:
                break
            clock.set_time(deadline)
            await self.settle()
        clock.set_time(target)
        await self.settle()

    # --- observation ----------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        # An observer's failure costs that observer its event, never the run its progress.
        try:
            self.observer.emit(event)
        except Exception:  # noqa: BLE001
            self.observer_errors += 1

    def _node_state(self, node: NodeRuntime, state: NodeState, reason: str = "") -> None:
        if node.state is state or (
            node.state is NodeState.NOT_RUNNABLE and state is NodeState.RUNNING
        ):
            return
        node.state = state
        self.emit(NodeStateChanged(self.clock.now(), node.id, state, reason))

    def begin_trace(self, message: Message) -> None:
        self.traces[message.trace_id] = []
        while len(self.traces) > self.settings.max_traces:
            self.traces.popitem(last=False)

    def _trace(self, node: NodeRuntime, action: str, message: Message, detail: str) -> None:
        hops = self.traces.get(message.trace_id)
        if hops is not None and len(hops) < self.settings.max_trace_hops:
            hops.append(
                Hop(self.clock.now(), node.id, action, message.id, message.trace_id, detail)
            )

    def message_event(self, node: NodeRuntime, action: str, message: Message, detail: str) -> None:
        if message.traced:
            self._trace(node, action, message, detail)
        now = self.clock.now()
        event: Event
        if action == "sent":
            event = MessageSent(now, node.id, message.id, message.trace_id, target=detail)
        elif action == "received":
            event = MessageReceived(now, node.id, message.id, message.trace_id)
        elif action == "acked":
            event = MessageAcked(now, node.id, message.id, message.trace_id)
        elif action == "dropped":
            event = MessageDroppedByFilter(now, node.id, message.id, message.trace_id, edge=detail)
        else:
            return
        self.emit(event)

    def failed(
        self,
        node: NodeRuntime,
        messages: Sequence[Message],
        code: str,
        text: str,
        attempt: int,
    ) -> None:
        now = self.clock.now()
        for message in messages:
            if message.traced:
                self._trace(node, "failed", message, f"{code}: {text}")
            self.emit(
                MessageFailed(now, node.id, message.id, message.trace_id, code, text, attempt)
            )

    def dead_lettered(
        self, node: NodeRuntime, message: Message, queue: str, code: str, text: str
    ) -> None:
        if message.traced:
            self._trace(node, "dead_lettered", message, queue or f"dropped: {code}")
        self.emit(
            MessageDeadLettered(
                self.clock.now(), node.id, message.id, message.trace_id, queue, code, text
            )
        )

    def refused(
        self, node: NodeRuntime, code: str, text: str, message: Message | None = None
    ) -> None:
        if message is not None and message.traced:
            self._trace(node, "refused", message, f"{code}: {text}")
        self.emit(
            MessageRefused(self.clock.now(), node.id, code, text, message.id if message else "")
        )

    def snapshot(self) -> dict[str, Any]:
        """Every counter and gauge, aggregated; observers read this at their ticks."""
        nodes: dict[str, Any] = {}
        for node in self.nodes.values():
            data: dict[str, Any] = {"kind": node.kind, "state": node.state.value}
            data.update(node.stats.to_dict())
            data.update(node.gauges())
            nodes[node.id] = data
        return {
            "state": self.state.value,
            "at": self.clock.now(),
            "nodes": nodes,
            "edges": {link.id: link.count for link in self.links.values()},
        }

    def provenance(self, node_id: str) -> list[dict[str, Any]]:
        """The node's sampled ring of recent hops, oldest first."""
        return [
            {"at": at, "action": action, "message_id": message_id, "trace_id": trace_id}
            for at, action, message_id, trace_id in self.nodes[node_id].ring
        ]

    def trace(self, trace_id: str) -> list[Hop]:
        return list(self.traces.get(trace_id, ()))

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.settings.region}:{self.settings.account}:{resource}"
