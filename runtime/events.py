"""What a run reports: the states of runs and nodes, the message envelope, and the facts emitted.

Events are past-tense facts, frozen dataclasses handed to ``observer.emit(event)``. Per-message
facts (sent, received, acked, dropped by filter) are emitted only for traced messages (sent by
hand) or when the observer sets ``wants_messages = True``; failures, dead letters, refusals and run
state changes are always emitted. Counters live in the engine and are read as snapshots at ticks.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

EMPTY: Mapping[str, Any] = MappingProxyType({})
MAX_HOPS = 32  # a message passing more nodes than this is looping (reliability S14)


class RunState(enum.Enum):
    """Where a run is in its life."""

    CREATED = "created"
    """Built from a spec; nothing runs yet."""
    STARTING = "starting"
    """Node tasks are being started."""
    RUNNING = "running"
    """Messages flow."""
    PAUSED = "paused"
    """Producers and consumers hold; queued messages wait; timers still count."""
    STOPPING = "stopping"
    """The task group is being cancelled."""
    STOPPED = "stopped"
    """Every task has ended; stats are final."""
    FAILED = "failed"
    """A task raised an unexpected error and the run ended."""


RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.CREATED: frozenset({RunState.STARTING, RunState.STOPPED}),
    RunState.STARTING: frozenset({RunState.RUNNING, RunState.FAILED, RunState.STOPPING}),
    RunState.RUNNING: frozenset({RunState.PAUSED, RunState.STOPPING, RunState.FAILED}),
    RunState.PAUSED: frozenset({RunState.RUNNING, RunState.STOPPING, RunState.FAILED}),
    RunState.STOPPING: frozenset({RunState.STOPPED, RunState.FAILED}),
    RunState.STOPPED: frozenset(),
    RunState.FAILED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A run was asked to move between states that do not connect (e.g. resume a stopped run)."""


class NodeState(enum.Enum):
    """What one node of a run is doing."""

    IDLE = "idle"
    """Built, waiting for the run to start."""
    RUNNING = "running"
    """Accepting and handling messages."""
    PAUSED = "paused"
    """Holding its work while the run is paused."""
    STOPPED = "stopped"
    """Its tasks have ended."""
    NOT_RUNNABLE = "not_runnable"
    """Counts what reaches it but cannot run it yet (e.g. a state machine before issue 5)."""


_new_tuple = tuple.__new__


def freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only view; already frozen mappings are shared, not copied."""
    if not mapping:
        return EMPTY
    if type(mapping) is MappingProxyType:
        return mapping
    return MappingProxyType(dict(mapping))


def new_id() -> str:
    """A v4 UUID string, the id format of SQS, SNS and EventBridge messages."""
    return str(uuid.uuid4())


class Message(NamedTuple):
    """An immutable envelope; bodies are shared, never copied, between hops.

    ``attributes`` are user message attributes (name → string or number); ``system`` carries
    service fields such as MessageGroupId, MessageDeduplicationId or PartitionKey. ``hops`` is
    the path of node ids the message has passed. ``size`` caches the body's UTF-8 size once a
    node has measured it (-1: not measured). A tuple, because the hot path builds millions.
    """

    id: str
    trace_id: str
    body: Any
    attributes: Mapping[str, Any] = EMPTY
    created_at: float = 0.0
    hops: tuple[str, ...] = ()
    system: Mapping[str, Any] = EMPTY
    traced: bool = False
    size: int = -1

    @classmethod
    def new(
        cls,
        body: Any,
        *,
        now: float,
        attributes: Mapping[str, Any] | None = None,
        system: Mapping[str, Any] | None = None,
        node: str | None = None,
        traced: bool = False,
        message_id: str | None = None,
        size: int = -1,
    ) -> Message:
        identifier = message_id or new_id()
        return cls(
            identifier,
            identifier,
            body,
            freeze(attributes),
            now,
            (node,) if node else (),
            freeze(system),
            traced,
            size,
        )

    def derive(
        self,
        node: str,
        *,
        body: Any = ...,
        attributes: Mapping[str, Any] | None = None,
        system: Mapping[str, Any] | None = None,
        message_id: str | None = None,
        size: int = -1,
    ) -> Message:
        """The message as the next node sees it: same trace, one more hop, maybe a new body."""
        same_body = body is ... or body is self.body
        # tuple.__new__ directly: the generated NamedTuple constructor costs a Python frame.
        return _new_tuple(
            Message,
            (
                message_id or self.id,
                self.trace_id,
                self.body if same_body else body,
                self.attributes if attributes is None else freeze(attributes),
                self.created_at,
                (*self.hops, node),
                self.system if system is None else freeze(system),
                self.traced,
                self.size if same_body else size,
            ),
        )

    def traced_copy(self) -> Message:
        return self._replace(traced=True)


@dataclass(frozen=True, slots=True)
class Hop:
    """One provenance record: a message reached (or left) a node at a time."""

    at: float
    node: str
    action: str  # received, sent, acked, failed, dead_lettered, dropped, refused
    message_id: str
    trace_id: str
    detail: str = ""


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    at: float


@dataclass(frozen=True, slots=True)
class RunStateChanged(Event):
    state: RunState
    previous: RunState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class NodeStateChanged(Event):
    node: str
    state: NodeState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MessageEvent(Event):
    node: str
    message_id: str
    trace_id: str


@dataclass(frozen=True, slots=True)
class MessageSent(MessageEvent):
    """A node handed a message to the next node along an edge."""

    target: str = ""
    edge: str = ""


@dataclass(frozen=True, slots=True)
class MessageReceived(MessageEvent):
    """A node accepted a message (a queue stored it, a function started on it...)."""


@dataclass(frozen=True, slots=True)
class MessageAcked(MessageEvent):
    """A consumer finished a message and it was deleted (or the offset committed)."""


@dataclass(frozen=True, slots=True)
class MessageFailed(MessageEvent):
    """Handling or delivering a message failed; it will be retried or dead-lettered."""

    error_code: str = ""
    error_message: str = ""
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class MessageDeadLettered(MessageEvent):
    """A message moved to a dead-letter queue, or was dropped for lack of one."""

    dead_letter_queue: str = ""
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True, slots=True)
class MessageDroppedByFilter(MessageEvent):
    """A subscription's filter policy (or a rule's pattern) did not match."""

    edge: str = ""


@dataclass(frozen=True, slots=True)
class MessageRefused(Event):
    """Bad input was refused with an AWS-style error code; the run goes on."""

    node: str
    error_code: str
    error_message: str
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class StatsTicked(Event):
    """The periodic snapshot of every counter and gauge."""

    snapshot: Mapping[str, Any] = field(default_factory=dict)


class Observer(Protocol):
    """Receives the run's events. Set ``wants_messages = True`` to get every per-message fact."""

    def emit(self, event: Event) -> None: ...


class NullObserver:
    wants_messages = False

    def emit(self, event: Event) -> None:
        return None


class ListObserver:
    """Keeps every event it is given; for tests and the CLI."""

    def __init__(self, *, wants_messages: bool = False) -> None:
        self.wants_messages = wants_messages
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Event]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]
