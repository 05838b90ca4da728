"""What a running node does: the base class every kind's behaviour extends.

A running node (``NodeRuntime``) is built by the engine from a ``NodeSpec`` and wired to its
out-links. The contract:

* ``accept(messages, link)`` takes a batch pushed by an upstream node. It returns once the batch
  is handled or stored; it raises ``DeliveryFailed`` when the delivery failed and the sender's
  retry policy applies. Bad input is refused inside (``self.refuse``), counted, and never raised.
* ``tasks()`` names the long-running coroutines (producers, pollers) the engine starts in its
  TaskGroup; they stop by cancellation.
* ``send_on(messages)`` hands results to every out-link; ``deliver(link, ...)`` to one. A target
  that talks to the outside world (``slow = True``) gets an outbox per link, drained by one task,
  so a slow webhook never holds up the node that feeds it.
* Counters are plain integers on ``stats``; the engine reads them at ticks.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from runtime.events import MAX_HOPS, Message, NodeState

if TYPE_CHECKING:
    from runtime.engine import Engine
    from runtime.spec import NodeSpec

TaskFactory = Callable[[], Awaitable[None]]


class DeliveryFailed(Exception):
    """A delivery attempt failed; the sender decides about retries and dead letters."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retriable: bool = True,
        failed: Sequence[Message] | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.retriable = retriable
        self.failed = list(failed) if failed is not None else None
        super().__init__(f"{code}: {message}")


class Refused(Exception):
    """Input a node refuses with an AWS-style error code (counted on the node, run goes on)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class Stats:
    """Plain integer counters: incremented on the hot path, read at ticks."""

    __slots__ = (
        "received",
        "sent",
        "acked",
        "errors",
        "dropped",
        "dead_lettered",
        "refused",
        "duplicates",
        "retries",
        "expired",
    )

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def to_dict(self) -> dict[str, int]:
        return {
            "in": self.received,
            "out": self.sent,
            "acked": self.acked,
            "errors": self.errors,
            "dropped": self.dropped,
            "dead_lettered": self.dead_lettered,
            "refused": self.refused,
            "duplicates": self.duplicates,
            "retries": self.retries,
            "expired": self.expired,
        }


class Link:
    """An edge at run time: where a node's output goes, with the edge's settings."""

    __slots__ = ("id", "source", "target", "config", "count", "outbox", "waiter")

    def __init__(
        self, edge_id: str, source: NodeRuntime, target: NodeRuntime, config: dict[str, Any]
    ) -> None:
        self.id = edge_id
        self.source = source
        self.target = target
        self.config = config
        self.count = 0
        self.outbox: deque[tuple[list[Message], int]] | None = None
        self.waiter: Any = None


class NodeRuntime:
    """A node of a running topology. Subclasses override ``accept`` and maybe ``tasks``."""

    kind: ClassVar[str] = ""
    slow: ClassVar[bool] = False  # talks to the outside world: fed through a per-link outbox

    def __init__(self, spec: NodeSpec, engine: Engine) -> None:
        self.id = spec.id
        self.spec = spec
        self.settings: dict[str, Any] = spec.settings()
        self.engine = engine
        self.clock = engine.clock
        self.stats = Stats()
        self.links: list[Link] = []
        self.inbound: list[Link] = []
        self.state = NodeState.IDLE
        self.ring: deque[tuple[float, str, str, str]] = deque(
            maxlen=engine.settings.provenance_per_node
        )
        self._sampled = 0

    # --- life cycle -----------------------------------------------------------------------------
    def setup(self) -> None:
        """Compile what the node needs (patterns, templates) once all nodes exist."""

    async def start(self) -> None:
        """Async preparation before tasks start (declare the queue in the store...)."""

    def tasks(self) -> list[tuple[str, TaskFactory]]:
        return []

    # --- receiving ------------------------------------------------------------------------------
    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)

    async def inject(
        self,
        body: Any,
        attributes: Mapping[str, Any] | None = None,
        system: Mapping[str, Any] | None = None,
    ) -> Message:
        """A message sent from outside (the Send button, the CLI): traced end to end."""
        message = Message.new(
            body,
            now=self.clock.now(),
            attributes=attributes,
            system=system,
            node=self.id,
            traced=True,
        )
        self.engine.begin_trace(message)
        await self.accept([message], None)
        return message

    def gauges(self) -> dict[str, Any]:
        return {}

    def own_retries(self) -> tuple[int, float] | None:
        """(retries, delay) this node asks senders without a policy of their own to apply."""
        return None

    # --- sending --------------------------------------------------------------------------------
    async def send_on(self, messages: list[Message], links: Sequence[Link] | None = None) -> None:
        for link in self.links if links is None else links:
            await self.deliver(link, messages)

    async def deliver(self, link: Link, messages: list[Message], attempt: int = 1) -> None:
        if len(messages[0].hops) >= MAX_HOPS or len(messages[-1].hops) >= MAX_HOPS:
            messages = self._stop_loops(messages)
            if not messages:
                return
        count = len(messages)
        link.count += count
        self.stats.sent += count
        if attempt == 1:
            self.note("sent", messages, link.target.id)
        if link.outbox is not None:
            link.outbox.append((messages, attempt))
            self.engine.wake_link(link)
            return
        try:
            await link.target.accept(messages, link)
        except DeliveryFailed as error:
            self.delivery_failed(link, messages, error, attempt)

    def _stop_loops(self, messages: list[Message]) -> list[Message]:
        """Messages past MAX_HOPS are looping (topic → queue → topic ...): they stop here,
        counted and reported as dead letters with the reason (reliability S14)."""
        kept = [message for message in messages if len(message.hops) < MAX_HOPS]
        for message in messages:
            if len(message.hops) >= MAX_HOPS:
                self.stats.dead_lettered += 1
                self.engine.dead_lettered(
                    self,
                    message,
                    "",
                    "HopLimitExceeded",
                    f"the message passed {len(message.hops)} nodes; it is looping",
                )
        return kept

    def delivery_failed(
        self, link: Link, messages: list[Message], error: DeliveryFailed, attempt: int
    ) -> None:
        """Default policy: the target's own retries (a webhook's), then the messages are dropped
        with the failure counted and reported."""
        failed = error.failed if error.failed is not None else messages
        policy = link.target.own_retries()
        if policy is not None and error.retriable and attempt <= policy[0]:
            self.stats.retries += len(failed)
            self.engine.later(policy[1], self.deliver, link, failed, attempt + 1)
            return
        self.stats.errors += len(failed)
        self.stats.dead_lettered += len(failed)
        for message in failed:
            self.engine.dead_lettered(self, message, "", error.code, error.message)

    # --- bookkeeping ----------------------------------------------------------------------------
    def note_received(self, messages: Sequence[Message]) -> None:
        self.stats.received += len(messages)
        self.note("received", messages)

    def note(self, action: str, messages: Sequence[Message], detail: str = "") -> None:
        """Provenance: traced messages always, the rest sampled into the node's ring."""
        engine = self.engine
        if engine.message_events:
            for message in messages:
                engine.message_event(self, action, message, detail)
        elif engine.traces:  # nothing was ever sent by hand: no message can be traced
            for message in messages:
                if message.traced:
                    engine.message_event(self, action, message, detail)
        self._sampled += len(messages)
        if self._sampled >= engine.settings.sample_every and messages:
            self._sampled = 0
            last = messages[-1]
            self.ring.append((self.clock.now(), action, last.id, last.trace_id))

    def refuse(self, code: str, message: str, about: Message | None = None) -> None:
        self.stats.refused += 1
        # The last reason, for callers that hand a message in and must answer its sender
        # (the gateway: a refused message is never acknowledged).
        self.last_refusal = (code, message)
        self.engine.refused(self, code, message, about)

    def fail(self, code: str, text: str, messages: Sequence[Message], attempt: int = 1) -> None:
        self.stats.errors += len(messages)
        self.engine.failed(self, messages, code, text, attempt)


def body_bytes(body: Any) -> int:
    """UTF-8 size of a body as services measure it (JSON values serialised compactly)."""
    if isinstance(body, str):
        # Most bodies are far below every limit; encoding is needed only near one.
        return len(body.encode("utf-8"))
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def attributes_bytes(attributes: Mapping[str, Any]) -> int:
    """SQS/SNS count attribute names, types and values toward the message size."""
    total = 0
    for name, value in attributes.items():
        data_type = "Number" if isinstance(value, int | float) else "String"
        total += len(name.encode()) + len(data_type) + len(str(value).encode())
    return total


def message_bytes(message: Message, limit: int | None = None) -> int:
    """The message's size as SQS/SNS count it. With ``limit``, a measured lower bound far below
    the limit is answered without serialising the body again."""
    if limit is not None and not message.attributes and 0 <= message.size < limit - 1024:
        return message.size
    if message.attributes:
        return body_bytes(message.body) + attributes_bytes(message.attributes)
    return body_bytes(message.body)


def sns_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Message attributes in the SNS/SQS API shape: {"name": {"DataType", "StringValue"}}."""
    shaped: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        if isinstance(value, Mapping):
            data_type = value.get("DataType", value.get("Type", "String"))
            raw = value.get("StringValue", value.get("Value", ""))
            shaped[name] = {"DataType": data_type, "StringValue": str(raw)}
        elif isinstance(value, bool):
            shaped[name] = {"DataType": "String", "StringValue": "true" if value else "false"}
        elif isinstance(value, int | float):
            shaped[name] = {"DataType": "Number", "StringValue": json.dumps(value)}
        elif isinstance(value, list):
            shaped[name] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        else:
            shaped[name] = {"DataType": "String", "StringValue": str(value)}
    return shaped


def parse_json_body(body: Any) -> Any:
    """A body as JSON: strings holding JSON are parsed, anything else is returned as is."""
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body
