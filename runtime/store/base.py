"""The storage contract for queues (SQS semantics) and logs (Kinesis shards, Kafka partitions).

A ``Store`` keeps what a buffer holds; nodes hold only configuration and waiters. Every method is
async and batch-shaped so a Redis implementation can pipeline one round trip per call. Times are
passed in (``now``) rather than read, so the store never owns a clock and tests stay exact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from runtime.events import Message, freeze


class StoreError(Exception):
    """A store call refused with an AWS-style error code."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True, slots=True)
class QueueOptions:
    """The queue attributes the store needs to enforce SQS semantics (semantics §1)."""

    fifo: bool = False
    visibility_timeout: float = 30
    delay_seconds: float = 0
    retention_period: float = 345600
    max_receive_count: int = 0  # 0: no redrive policy
    content_based_deduplication: bool = False
    deduplication_scope: str = "queue"  # or "messageGroup"
    dedup_window: float = 300.0


@dataclass(slots=True)
class QueueRecord:
    """One stored message and its SQS bookkeeping."""

    message: Message
    sent_at: float
    visible_at: float
    expires_at: float
    sequence: int
    group: str | None = None
    dedup_id: str | None = None
    receive_count: int = 0
    first_receive_at: float | None = None
    receipt: str | None = None
    deadline: float = 0.0  # end of the current visibility window while in flight
    deleted: bool = False
    dead_letter_source: str | None = None


class Received(NamedTuple):
    """A message handed to a consumer, with its receipt handle and receive count."""

    message: Message
    receipt: str
    receive_count: int
    sent_at: float
    first_receive_at: float
    sequence: int
    group: str | None = None
    dead_letter_source: str | None = None


@dataclass(slots=True)
class ReceiveResult:
    messages: list[Received] = field(default_factory=list)
    # Records past maxReceiveCount: the caller moves them to the dead-letter queue.
    dead_lettered: list[QueueRecord] = field(default_factory=list)
    expired: int = 0
    # receive(take=True): the records and the receive counts they were taken at (parallel
    # lists: no tuple per message), acknowledged by the taker.
    taken: list[QueueRecord] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)


class SendOutcome(NamedTuple):
    """Per-entry result of a send: accepted (maybe as a duplicate) with its sequence number."""

    message_id: str
    sequence: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class QueueCounts:
    visible: int
    in_flight: int
    delayed: int


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record of a Kinesis shard or Kafka partition."""

    offset: int
    key: str | None
    value: Any
    timestamp: float
    headers: tuple[tuple[str, Any], ...] = ()
    message: Message | None = None


class Store:
    """Where queues and logs keep their contents. See MemoryStore for the reference semantics.

    ``durable`` says whether what a call stored outlives the process; ``name`` is what status
    pages and the run CLI print ("memory", "sqlite", "redis").
    """

    name: str = "store"
    durable: bool = False

    @property
    def durability(self) -> dict[str, Any]:
        """What this store promises about its contents, for status pages (R19)."""
        return {"store": self.name, "survives": "nothing (ephemeral)"}

    async def sync(self) -> None:
        """Return once everything stored before the call is durable (a no-op where every call
        is already durable, or nothing ever is); a failed write raises ``StoreError``."""
        return None

    # --- queues ---------------------------------------------------------------------------------
    async def queue_declare(self, queue: str, options: QueueOptions) -> None:
        raise NotImplementedError

    async def queue_send(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        *,
        delays: Sequence[float] | None = None,
    ) -> list[SendOutcome]:
        raise NotImplementedError

    async def queue_receive(
        self,
        queue: str,
        now: float,
        *,
        max_messages: int = 1,
        visibility_timeout: float | None = None,
    ) -> ReceiveResult:
        raise NotImplementedError

    async def queue_delete(self, queue: str, receipts: Sequence[str], now: float) -> int:
        raise NotImplementedError

    async def queue_change_visibility(
        self, queue: str, receipt: str, timeout: float, now: float
    ) -> None:
        raise NotImplementedError

    async def queue_counts(self, queue: str, now: float) -> QueueCounts:
        raise NotImplementedError

    async def queue_next_change(self, queue: str, now: float) -> float | None:
        """When a message next becomes visible (delay or visibility ending), or None."""
        raise NotImplementedError

    async def queue_purge(self, queue: str) -> int:
        raise NotImplementedError

    async def queue_take_all(self, queue: str, now: float) -> list[QueueRecord]:
        """Remove and return every visible message (for a DLQ redrive back to its source)."""
        raise NotImplementedError

    async def queue_peek(self, queue: str, now: float, limit: int = 10) -> list[QueueRecord]:
        raise NotImplementedError

    # --- logs (Kinesis shards, Kafka partitions) -------------------------------------------------
    async def log_append(self, log: str, partition: int, records: Sequence[LogRecord]) -> list[int]:
        raise NotImplementedError

    async def log_read(self, log: str, partition: int, offset: int, limit: int) -> list[LogRecord]:
        raise NotImplementedError

    async def log_bounds(self, log: str, partition: int) -> tuple[int, int]:
        """(start offset, end offset): the oldest retained record and the next to be written."""
        raise NotImplementedError

    async def log_trim(self, log: str, partition: int, before: float) -> int:
        """Drop records with a timestamp before ``before``; returns how many went."""
        raise NotImplementedError

    async def offset_commit(self, log: str, group: str, partition: int, offset: int) -> None:
        raise NotImplementedError

    async def offset_get(self, log: str, group: str, partition: int) -> int | None:
        raise NotImplementedError

    # --- the whole namespace --------------------------------------------------------------------
    async def inventory(self, now: float) -> dict[str, dict[str, int]]:
        """What the store holds, declared in this process or not: ``{"queues": {name: messages
        (visible, in flight and delayed)}, "logs": {name: records over all partitions}}``."""
        raise NotImplementedError

    async def drop(self, names: Sequence[str]) -> int:
        """Remove every trace of these buffers (queue records, dedup memory, log records,
        committed offsets); returns how many messages and records went."""
        raise NotImplementedError

    async def clear(self) -> int:
        """Remove everything in this store's namespace; returns how many messages and records
        went."""
        raise NotImplementedError

    async def close(self) -> None:
        return None


def encode_message(message: Message) -> str:
    """A message as JSON text, for stores that keep it outside the process."""
    return _encode(
        [
            message.id,
            message.trace_id,
            message.body,
            dict(message.attributes),
            message.created_at,
            message.hops,
            dict(message.system),
            message.traced,
        ]
    )


def decode_message(text: str | bytes) -> Message:
    identifier, trace, body, attributes, created, hops, system, traced = json.loads(text)
    return Message(
        identifier, trace, body, freeze(attributes), created, tuple(hops), freeze(system), traced
    )


def _plain(value: Any) -> Any:
    """JSON for what messages may nest beyond JSON: a frozen mapping is still a mapping, and
    anything else is kept as its text rather than failing a write that was already accepted."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# One encoder, built once (json.dumps builds one per call when given options).
_encode = json.JSONEncoder(separators=(",", ":"), default=_plain).encode
