"""SQS queue: standard or FIFO, with visibility timeout, delay, retention and redrive to a DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import struct
from collections.abc import Sequence
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import (
    DeliveryFailed,
    Link,
    NodeRuntime,
    TaskFactory,
    message_bytes,
    sns_attributes,
)
from runtime.store import MemoryStore, QueueOptions, QueueRecord, Received, StoreError
from runtime.store.memory import body_text
from runtime.store.redis import RedisStore

# Kinds that may consume a queue (an event source mapping or an EventBridge Pipe).
QUEUE_CONSUMERS = frozenset({"function", "state_machine", "webhook", "log"})


class Queue(Kind):
    name = "queue"
    label = "Queue"
    group = "Buffers"
    icon = "▤"
    description = "SQS queue: buffers messages until a consumer receives and deletes them."
    models = "Amazon SQS"
    feeds = QUEUE_CONSUMERS
    fields = (
        Field(
            "fifo",
            "bool",
            False,
            "FIFO queue: strict order per message group and 5-minute "
            "deduplication. Fixed when the queue is created.",
            label="FIFO",
        ),
        Field(
            "visibility_timeout",
            "int",
            30,
            "How long a received message stays hidden from "
            "other consumers before it becomes visible again.",
            minimum=0,
            maximum=43200,
            unit="s",
        ),
        Field(
            "delay_seconds",
            "int",
            0,
            "Delay before a new message becomes visible.",
            minimum=0,
            maximum=900,
            unit="s",
        ),
        Field(
            "retention_period",
            "int",
            345600,
            "How long a message is kept before it expires.",
            minimum=60,
            maximum=1209600,
            unit="s",
        ),
        Field(
            "max_message_size",
            "int",
            1048576,
            "Largest accepted message, body and attributes, in UTF-8 bytes.",
            minimum=1024,
            maximum=1048576,
            unit="bytes",
        ),
        Field(
            "receive_wait_time",
            "int",
            0,
            "Long polling: how long a receive waits for a message when the queue is empty.",
            minimum=0,
            maximum=20,
            unit="s",
        ),
        Field(
            "dead_letter_queue",
            "node",
            "",
            "Queue that receives messages received more "
            "than max receive count times (redrive policy). Empty: no DLQ.",
            label="DLQ",
        ),
        Field(
            "max_receive_count",
            "int",
            5,
            "Receives before a message moves to the DLQ.",
            minimum=1,
            maximum=1000,
        ),
        Field(
            "content_based_deduplication",
            "bool",
            False,
            "FIFO only: use a SHA-256 of the body as the deduplication id when none is given.",
        ),
        Field(
            "deduplication_scope",
            "choice",
            "queue",
            "FIFO only: deduplicate across the queue or per message group.",
            choices=("queue", "messageGroup"),
        ),
        Field(
            "fifo_throughput_limit",
            "choice",
            "perQueue",
            "FIFO only: throughput quota per queue or per message group.",
            choices=("perQueue", "perMessageGroupId"),
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        if not config["fifo"]:
            fifo_only = {
                "content_based_deduplication": False,
                "deduplication_scope": "queue",
                "fifo_throughput_limit": "perQueue",
            }
            for name, default in fifo_only.items():
                if config[name] != default:
                    problems.append((f"/{name}", "applies only when fifo is true"))
        elif (
            config["fifo_throughput_limit"] == "perMessageGroupId"
            and config["deduplication_scope"] != "messageGroup"
        ):
            problems.append(
                (
                    "/fifo_throughput_limit",
                    "perMessageGroupId requires deduplication_scope messageGroup",
                )
            )
        return problems


MAX_BATCH = 10  # ReceiveMessage MaxNumberOfMessages
REDRIVE_CHUNK = 1000  # records a redrive holds and moves at a time (RedisStore.queue_hold)
AHEAD = 4  # batches a standard queue's poller takes at once on a shared store, consumer quick
MAX_WAIT = 20  # ReceiveMessage WaitTimeSeconds
MAX_ATTRIBUTES = 10
PURGE_INTERVAL = 60.0
BATCH_BYTES = 1048576
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# Characters SQS accepts in a body: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF.
_BAD_CHARACTER = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def md5_of_message_attributes(attributes: dict[str, dict[str, str]]) -> str:
    """SQS's MD5OfMessageAttributes (semantics §1.11): per name in order, length-prefixed
    name, type and value, with transport byte 1 for String/Number and 2 for Binary."""
    buffer = bytearray()
    for name in sorted(attributes):
        data_type = attributes[name]["DataType"]
        value = attributes[name]["StringValue"].encode()
        for part in (name.encode(), data_type.encode()):
            buffer += struct.pack(">I", len(part)) + part
        buffer += b"\x02" if data_type.startswith("Binary") else b"\x01"
        buffer += struct.pack(">I", len(value)) + value
    return hashlib.md5(buffer).hexdigest()


def _invalid_characters(body: Any) -> tuple[str, str] | None:
    if isinstance(body, str) and _BAD_CHARACTER.search(body):
        return (
            "InvalidParameterValue",
            "Invalid binary character in the message body; see the allowed characters in the "
            "SQS documentation.",
        )
    return None


class QueueNode(NodeRuntime):
    """An SQS queue whose messages live in the run's store.

    ``accept`` is SendMessage for every message (validated, then stored); ``receive``,
    ``delete`` and ``change_visibility`` are the consumer API; each out-link is an event source
    mapping: pollers long-poll, hand batches to the consumer and delete what it handled, so a
    failure leaves the message to reappear after the visibility timeout and, past
    maxReceiveCount, to move to the DLQ.
    """

    kind = "queue"

    def setup(self) -> None:
        settings = self.settings
        self.fifo = settings["fifo"]
        self.arn = self.engine.arn("sqs", self.id)
        dlq = settings["dead_letter_queue"]
        self.dead_letter_queue: QueueNode | None = None
        if dlq and isinstance(self.engine.nodes.get(dlq), QueueNode):
            self.dead_letter_queue = self.engine.nodes[dlq]  # type: ignore[assignment]
        self.options = QueueOptions(
            fifo=self.fifo,
            visibility_timeout=settings["visibility_timeout"],
            delay_seconds=settings["delay_seconds"],
            retention_period=settings["retention_period"],
            max_receive_count=settings["max_receive_count"] if self.dead_letter_queue else 0,
            content_based_deduplication=settings["content_based_deduplication"],
            deduplication_scope=settings["deduplication_scope"],
        )
        self.sources: list[QueueNode] = []  # queues whose DLQ this is
        self.last_purge: float | None = None
        self._counts: dict[str, int] = {}
        self._version = 0
        self._waiters: list[asyncio.Future[None]] = []
        self.memory = self.engine.store if isinstance(self.engine.store, MemoryStore) else None
        self.shared = self.engine.store if isinstance(self.engine.store, RedisStore) else None

    async def start(self) -> None:
        await self.engine.store.queue_declare(self.id, self.options)
        if self.dead_letter_queue is not None:
            self.dead_letter_queue.sources.append(self)

    # --- SendMessage ----------------------------------------------------------------------------
    def _problem(self, message: Message) -> tuple[str, str] | None:
        limit = self.settings["max_message_size"]
        if message.body is None or message.body == "":
            return "MissingParameter", "The request must contain the parameter MessageBody."
        if len(message.attributes) > MAX_ATTRIBUTES:
            return (
                "InvalidParameterValue",
                f"Number of message attributes [{len(message.attributes)}] exceeds the allowed "
                f"maximum [{MAX_ATTRIBUTES}].",
            )
        if message_bytes(message, limit) > limit:
            return (
                "InvalidParameterValue",
                "One or more parameters are invalid. Reason: Message must be shorter than "
                f"{limit} bytes.",
            )
        delay = message.system.get("DelaySeconds") if message.system else None
        if delay is not None:
            if self.fifo and delay:
                return (
                    "InvalidParameterValue",
                    f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request "
                    "include parameter that is not valid for this queue type.",
                )
            if not 0 <= delay <= 900:
                return (
                    "InvalidParameterValue",
                    f"Value {delay} for parameter DelaySeconds is invalid. Reason: must be "
                    "between 0 and 900, if provided.",
                )
        return None

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        accepted: list[Message] = []
        delays: list[float] | None = None
        for message in messages:
            problem = self._problem(message)
            if problem is not None:
                self.refuse(*problem, message)
                continue
            accepted.append(message.derive(self.id, message_id=self.engine.new_id()))
            delay = message.system.get("DelaySeconds") if message.system else None
            if delay or delays is not None:
                if delays is None:
                    delays = [self.options.delay_seconds] * (len(accepted) - 1)
                delays.append(delay if delay else self.options.delay_seconds)
        if accepted:
            await self.store_messages(accepted, delays)

    async def send_batch(self, entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """SendMessageBatch: entries {Id, MessageBody, MessageAttributes?, DelaySeconds?,
        MessageGroupId?, MessageDeduplicationId?}; request errors raise, entry errors are
        listed under Failed with SenderFault (semantics §1.10)."""
        if not entries:
            raise StoreError(
                "AWS.SimpleQueueService.EmptyBatchRequest",
                "There should be at least one SendMessageBatchRequestEntry in the request.",
            )
        if len(entries) > MAX_BATCH:
            raise StoreError(
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
            )
        ids = [entry.get("Id") for entry in entries]
        if len(set(ids)) != len(ids):
            raise StoreError(
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                "Two or more batch entries in the request have the same Id.",
            )
        for entry_id in ids:
            if not isinstance(entry_id, str) or not _BATCH_ID.fullmatch(entry_id):
                raise StoreError(
                    "AWS.SimpleQueueService.InvalidBatchEntryId",
                    "A batch entry id can only contain alphanumeric characters, hyphens and "
                    "underscores. It can be at most 80 letters long.",
                )
        total = sum(len(str(entry.get("MessageBody", "")).encode()) for entry in entries)
        if total > BATCH_BYTES:
            raise StoreError(
                "AWS.SimpleQueueService.BatchRequestTooLong",
                f"Batch requests cannot be longer than {BATCH_BYTES} bytes. You have sent "
                f"{total} bytes.",
            )
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            system = {
                name: entry[name]
                for name in ("DelaySeconds", "MessageGroupId", "MessageDeduplicationId")
                if name in entry
            }
            message = Message.new(
                entry.get("MessageBody", ""),
                now=self.clock.now(),
                attributes=entry.get("MessageAttributes"),
                system=system,
                node=self.id,
                message_id=self.engine.new_id(),
            )
            problem = self._problem(message) or _invalid_characters(message.body)
            if problem is not None:
                self.refuse(*problem, message)
                failed.append(
                    {
                        "Id": entry["Id"],
                        "Code": problem[0],
                        "Message": problem[1],
                        "SenderFault": True,
                    }
                )
                continue
            before = self.stats.refused
            await self.store_messages(
                [message], [system["DelaySeconds"]] if "DelaySeconds" in system else None
            )
            if self.stats.refused > before:
                failed.append(
                    {"Id": entry["Id"], "Code": "InvalidParameterValue", "SenderFault": True}
                )
            else:
                successful.append({"Id": entry["Id"], "MessageId": message.id})
        return {"Successful": successful, "Failed": failed}

    async def store_messages(
        self, messages: list[Message], delays: Sequence[float] | None = None
    ) -> None:
        try:
            if self.memory is not None:
                duplicates = self.memory.queue_store_now(
                    self.id, messages, self.clock.now(), delays
                )
                if self.memory.durable:
                    # A queue acknowledges only what its store holds (SqliteStore: committed).
                    await self.memory.sync()
            elif self.shared is not None:
                duplicates = await self.shared.queue_store(
                    self.id, messages, self.clock.now(), delays
                )
            else:
                outcomes = await self.engine.store.queue_send(
                    self.id, messages, self.clock.now(), delays=delays
                )
                duplicates = sum(1 for outcome in outcomes if outcome.duplicate)
        except StoreError as error:
            for message in messages:
                self.refuse(error.code, error.message, message)
            return
        self.stats.duplicates += duplicates
        self.stats.received += len(messages) - duplicates
        self.note("received", messages)
        self.wake()

    def wake(self) -> None:
        self._version += 1
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- ReceiveMessage -------------------------------------------------------------------------
    async def receive(
        self,
        max_messages: int = 1,
        *,
        wait: float | None = None,
        visibility_timeout: float | None = None,
    ) -> list[Received]:
        """ReceiveMessage with long polling: returns as soon as anything is visible."""
        if not 1 <= max_messages <= MAX_BATCH:
            raise StoreError(
                "InvalidParameterValue",
                f"Value {max_messages} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided.",
            )
        wait = self.settings["receive_wait_time"] if wait is None else wait
        if not 0 <= wait <= MAX_WAIT:
            raise StoreError(
                "InvalidParameterValue",
                f"Value {wait} for parameter WaitTimeSeconds is invalid. "
                "Reason: Must be >= 0 and <= 20, if provided.",
            )
        deadline = self.clock.now() + wait
        while True:
            # A send landing while this receive talks to the store must not be missed.
            version = self._version
            got = await self._receive_once(max_messages, visibility_timeout)
            now = self.clock.now()
            if got or now >= deadline:
                return got
            next_change = await self.engine.store.queue_next_change(self.id, now)
            if self._version != version:
                continue
            until = deadline if next_change is None else min(deadline, next_change)
            await self._wait_until(until)

    async def receive_message(
        self,
        max_messages: int = 1,
        *,
        wait: float | None = None,
        visibility_timeout: float | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
    ) -> dict[str, Any]:
        """ReceiveMessage in the API's shape: system attributes and message attributes only
        when asked for (names, "All", or "prefix.*" for message attributes), with the MD5s."""
        received = await self.receive(
            max_messages, wait=wait, visibility_timeout=visibility_timeout
        )
        if not received:
            return {}
        return {
            "Messages": [
                self._api_message(item, attribute_names, message_attribute_names)
                for item in received
            ]
        }

    def _api_message(
        self, item: Received, attribute_names: Sequence[str], message_attribute_names: Sequence[str]
    ) -> dict[str, Any]:
        body = body_text(item.message.body)
        shaped: dict[str, Any] = {
            "MessageId": item.message.id,
            "ReceiptHandle": item.receipt,
            "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
            "Body": body,
        }
        system = {
            "ApproximateReceiveCount": str(item.receive_count),
            "SentTimestamp": str(int(item.sent_at * 1000)),
            "ApproximateFirstReceiveTimestamp": str(int(item.first_receive_at * 1000)),
            "SenderId": self.engine.settings.account,
        }
        if item.group is not None:
            system["MessageGroupId"] = item.group
            system["SequenceNumber"] = str(10**19 + item.sequence)
        if item.dead_letter_source:
            system["DeadLetterQueueSourceArn"] = item.dead_letter_source
        wanted = set(attribute_names)
        if wanted:
            shaped["Attributes"] = {
                name: value for name, value in system.items() if "All" in wanted or name in wanted
            }
        attributes = sns_attributes(item.message.attributes)
        chosen = {
            name: value
            for name, value in attributes.items()
            if any(
                pattern == "All"
                or pattern == name
                or (pattern.endswith(".*") and name.startswith(pattern[:-1]))
                for pattern in message_attribute_names
            )
        }
        if chosen:
            shaped["MessageAttributes"] = chosen
            shaped["MD5OfMessageAttributes"] = md5_of_message_attributes(chosen)
        return shaped

    async def _receive_once(self, wanted: int, visibility: float | None) -> list[Received]:
        store = self.engine.store
        if self.shared is not None:
            # Dead letters stay held in this queue until their copies are in the DLQ.
            result = await self.shared.queue_receive(
                self.id,
                self.clock.now(),
                max_messages=wanted,
                visibility_timeout=visibility,
                hold_letters=True,
            )
        else:
            result = await store.queue_receive(
                self.id, self.clock.now(), max_messages=wanted, visibility_timeout=visibility
            )
        self.stats.expired += result.expired
        if result.dead_lettered:
            await self._dead_letter(result.dead_lettered)
        return result.messages

    async def _wait_until(self, when: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)

        def ring() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.clock.call_later(max(0.0, when - self.clock.now()), ring)
        try:
            await future
        finally:
            timer.cancel()

    async def _dead_letter(self, records: list[QueueRecord]) -> None:
        dlq = self.dead_letter_queue
        assert dlq is not None
        if self.shared is not None:
            await self._move_held(records, dlq, self._dead_letter_copy, dead_letters=True)
            return
        moved: list[Message] = []
        for record in records:
            system = {
                **record.message.system,
                "DeadLetterQueueSourceArn": self.arn,
                "ApproximateReceiveCount": record.receive_count,
                "_sent_at": record.sent_at,
            }
            if record.group is not None:
                # FIFO → FIFO DLQ: the dedup id becomes the message id (semantics §1.8).
                system["MessageDeduplicationId"] = record.message.id
            moved.append(record.message.derive(dlq.id, system=system))
            self.engine.dead_lettered(
                self,
                record.message,
                dlq.id,
                "MaxReceiveCountExceeded",
                f"received {record.receive_count} times (maxReceiveCount "
                f"{self.options.max_receive_count})",
            )
        self.stats.dead_lettered += len(moved)
        await dlq.store_messages(moved)

    # --- moves on a shared store (Redis): held records, then copy and delete in one script ------
    def _dead_letter_copy(self, record: QueueRecord, dlq: QueueNode) -> Message:
        system = {
            **record.message.system,
            "DeadLetterQueueSourceArn": self.arn,
            "ApproximateReceiveCount": record.receive_count,
            "_sent_at": record.sent_at,
        }
        if record.group is not None:
            # FIFO → FIFO DLQ: the dedup id becomes the message id (semantics §1.8).
            system["MessageDeduplicationId"] = record.message.id
        return record.message.derive(dlq.id, system=system)

    def _redrive_copy(self, record: QueueRecord, target: QueueNode) -> Message:
        system = {
            name: value
            for name, value in record.message.system.items()
            if name not in ("DeadLetterQueueSourceArn", "ApproximateReceiveCount", "_sent_at")
        }
        return record.message.derive(target.id, system=system, message_id=self.engine.new_id())

    async def _move_held(
        self,
        records: Sequence[QueueRecord],
        target: QueueNode,
        copy: Any,
        *,
        dead_letters: bool = False,
    ) -> int:
        """Move records held in this queue (a receive's dead letters, a redrive's records) to
        ``target``: each copy is stored and its original deleted by one script, so a worker
        that dies in between leaves the record held here, to come back when its hold ends.
        Returns how many moved."""
        store = self.shared
        assert store is not None
        copies = [copy(record, target) for record in records]
        now = self.clock.now()
        try:
            flags = await store.queue_move(self.id, target.id, records, copies, now)
        except StoreError:
            # One copy the target refuses (a FIFO queue's missing group): the others move, the
            # refused ones stay held here.
            flags = []
            for record, message in zip(records, copies, strict=True):
                try:
                    flags += await store.queue_move(self.id, target.id, [record], [message], now)
                except StoreError as error:
                    target.refuse(error.code, error.message, message)
                    flags.append(0)
        moved = [i for i, flag in enumerate(flags) if flag]
        if dead_letters:
            for i in moved:
                record = records[i]
                self.engine.dead_lettered(
                    self,
                    record.message,
                    target.id,
                    "MaxReceiveCountExceeded",
                    f"received {record.receive_count} times (maxReceiveCount "
                    f"{self.options.max_receive_count})",
                )
            self.stats.dead_lettered += len(moved)
        if moved:
            duplicates = sum(1 for i in moved if flags[i] == 2)
            target.stats.duplicates += duplicates
            target.stats.received += len(moved) - duplicates
            target.note("received", [copies[i] for i in moved])
            target.wake()
        return len(moved)

    async def delete(self, receipts: Sequence[str]) -> int:
        deleted = await self.engine.store.queue_delete(self.id, receipts, self.clock.now())
        self.stats.acked += deleted
        return deleted

    async def change_visibility(self, receipt: str, timeout: float) -> None:
        if not 0 <= timeout <= 43200:
            raise StoreError(
                "InvalidParameterValue",
                f"Value {timeout} for parameter VisibilityTimeout is invalid. "
                "Reason: Must be between 0 and 43200.",
            )
        await self.engine.store.queue_change_visibility(self.id, receipt, timeout, self.clock.now())
        self.wake()

    async def purge(self) -> int:
        """PurgeQueue: everything goes, the FIFO dedup memory too; once per 60 seconds."""
        now = self.clock.now()
        if self.last_purge is not None and now - self.last_purge < PURGE_INTERVAL:
            raise StoreError(
                "PurgeQueueInProgress",
                f"Only one PurgeQueue operation on {self.id} is allowed every 60 seconds.",
            )
        self.last_purge = now
        return await self.engine.store.queue_purge(self.id)

    async def redrive(self, destination: QueueNode | None = None) -> int:
        """StartMessageMoveTask: move this DLQ's messages back to their source as new messages."""
        if not self.sources and destination is None:
            raise StoreError(
                "InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue."
            )
        by_source = {source.arn: source for source in self.sources}
        if self.shared is not None:
            return await self._redrive_shared(destination, by_source)
        records = await self.engine.store.queue_take_all(self.id, self.clock.now())
        moved = 0
        for record in records:
            target = destination or by_source.get(record.dead_letter_source or "")
            if target is None:
                target = self.sources[0]
            system = {
                name: value
                for name, value in record.message.system.items()
                if name not in ("DeadLetterQueueSourceArn", "ApproximateReceiveCount", "_sent_at")
            }
            fresh = record.message.derive(target.id, system=system, message_id=self.engine.new_id())
            await target.store_messages([fresh])
            moved += 1
        return moved

    async def _redrive_shared(
        self, destination: QueueNode | None, by_source: dict[str, QueueNode]
    ) -> int:
        """Redrive on a shared store: a chunk of records held here at a time, each moved to
        its target in one script, so none is ever in neither queue."""
        store = self.shared
        assert store is not None
        moved = 0
        while True:
            records = await store.queue_hold(self.id, self.clock.now(), REDRIVE_CHUNK)
            by_target: dict[str, tuple[QueueNode, list[QueueRecord]]] = {}
            for record in records:
                target = destination or by_source.get(record.dead_letter_source or "")
                if target is None:
                    target = self.sources[0]
                by_target.setdefault(target.id, (target, []))[1].append(record)
            for target, held in by_target.values():
                moved += await self._move_held(held, target, self._redrive_copy)
            if len(records) < REDRIVE_CHUNK:
                return moved

    # --- event source mappings ------------------------------------------------------------------
    def tasks(self) -> list[tuple[str, TaskFactory]]:
        tasks: list[tuple[str, TaskFactory]] = []
        for link in self.links:
            pollers = getattr(link.target, "pollers", 1)
            for index in range(pollers):
                tasks.append((f"poll:{link.target.id}:{index}", self._poller(link)))
        return tasks

    def _poller(self, link: Link) -> TaskFactory:
        batch_size = link.target.settings.get("batch_size", MAX_BATCH)
        if self.fifo:
            batch_size = min(batch_size, MAX_BATCH)
        if self.memory is not None:
            return self._memory_poller(link, batch_size)
        if self.shared is not None:
            return self._shared_poller(link, batch_size)

        async def poll() -> None:
            while True:
                await self.engine.gate()
                received = await self.receive(min(batch_size, MAX_BATCH), wait=MAX_WAIT)
                while len(received) < batch_size:
                    more = await self._receive_once(
                        min(MAX_BATCH, batch_size - len(received)), None
                    )
                    if not more:
                        break
                    received.extend(more)
                if received:
                    await self._hand_over(link, received)

        return poll

    def _memory_poller(self, link: Link, batch_size: int) -> TaskFactory:
        """The same mapping on the memory store, handing records over without receipt
        handles: the store's semantics (visibility, receive counts, DLQ) are unchanged."""
        memory = self.memory
        assert memory is not None
        queue = memory.queues[self.id]
        # Receive counts matter where there is a redrive policy: there they are durable before
        # the consumer sees the messages, so maxReceiveCount holds across a crash.
        durable = memory.durable and bool(self.options.max_receive_count)

        async def poll() -> None:
            while True:
                await self.engine.gate()
                now = self.clock.now()
                result = memory.queue_take_now(self.id, now, min(batch_size, MAX_BATCH))
                while result.taken and len(result.taken) < batch_size:
                    wanted = min(MAX_BATCH, batch_size - len(result.taken))
                    more = memory.queue_take_now(self.id, now, wanted)
                    result.expired += more.expired
                    result.dead_lettered.extend(more.dead_lettered)
                    if not more.taken:
                        break
                    result.taken.extend(more.taken)
                    result.counts.extend(more.counts)
                self.stats.expired += result.expired
                if result.dead_lettered:
                    await self._dead_letter(result.dead_lettered)
                if result.taken:
                    if durable:
                        # A failing disk does not stop delivery: the counts are retried.
                        with contextlib.suppress(StoreError):
                            await memory.sync()
                    await self._hand_over_taken(link, result.taken, result.counts)
                    continue
                next_change = queue.next_change()
                until = now + MAX_WAIT if next_change is None else min(now + MAX_WAIT, next_change)
                await self._wait_until(until)

        return poll

    def _shared_poller(self, link: Link, batch_size: int) -> TaskFactory:
        """The mapping on a shared store (Redis): one round trip per batch or fewer. Records are
        taken without receipt handles, and what the consumer handled is acknowledged by the
        next take (or on its own before the poller waits, pauses or stops). While the consumer
        is quick (handing a batch over takes a small part of the visibility timeout) the next
        take is sent before a batch is handed over, and a standard queue's takes bring
        ``AHEAD`` batches at a time; a FIFO queue's groups stay locked meanwhile, so their
        order holds. Dead letters are held by the take and moved to the DLQ atomically."""
        store = self.shared
        assert store is not None
        engine = self.engine
        timeout = self.options.visibility_timeout
        ahead = 1 if self.fifo else AHEAD

        def paused() -> bool:
            return getattr(engine, "_resumed", None) is not None

        async def poll() -> None:
            taker = store.taker(self.id)
            acks = b""
            taken = None
            handled: list[bytes] = []  # of ``taken``, not in ``acks`` yet
            version, now = self._version, self.clock.now()
            pace = 0.0  # how long handing a batch over takes (clock seconds, recent peak)
            try:
                while True:
                    quick = pace * 4 * ahead < timeout
                    if not taker.outstanding:
                        if acks and paused():
                            # Paused: what was handled is deleted now, not after the pause.
                            done = await store.queue_take(self.id, self.clock.now(), 0, acks=acks)
                            self.stats.acked += done.acked
                            acks = b""
                        await engine.gate()
                        version, now = self._version, self.clock.now()
                        await taker.send(now, batch_size * (ahead if quick else 1), acks)
                        acks = b""
                    taken = await taker.read()
                    self.stats.acked += taken.acked
                    self.stats.expired += taken.expired
                    if taken.letters:
                        await self._dead_letter(taken.letters)
                    messages = taken.messages
                    if messages:
                        if quick and not paused():
                            # The next take travels while these batches are handed over.
                            version, now = self._version, self.clock.now()
                            await taker.send(now, batch_size * ahead, acks)
                            acks = b""
                        handled = []
                        for start in range(0, len(messages), batch_size):
                            began = self.clock.now()
                            handled += await self._hand_over_shared(
                                link,
                                messages[start : start + batch_size],
                                taken.numbers[start : start + batch_size],
                            )
                            took = self.clock.now() - began
                            pace = max(took, pace * 0.8 + took * 0.2)
                        if handled:
                            done = taken.acks(handled)
                            acks = b";".join((acks, done)) if acks else done
                            handled = []
                        continue
                    if acks or taken.letters or self._version != version:
                        continue
                    until = now + MAX_WAIT
                    if taken.next_change is not None:
                        until = min(until, taken.next_change)
                    await self._wait_until(until)
            except asyncio.CancelledError:
                if handled and taken is not None:
                    done = taken.acks(handled)
                    acks = b";".join((acks, done)) if acks else done
                if acks:
                    # Stopping: delete what the consumer handled, so it is not delivered twice.
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await store.queue_take(self.id, self.clock.now(), 0, acks=acks)
                raise
            finally:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await taker.close()

        return poll

    async def _hand_over_shared(
        self, link: Link, messages: list[Message], numbers: list[bytes]
    ) -> list[bytes]:
        """Hand a batch to the consumer; returns the record numbers of what it handled (a
        failed message stays in flight, to come back when its visibility ends)."""
        count = len(messages)
        link.count += count
        self.stats.sent += count
        try:
            await link.target.accept(messages, link)
        except DeliveryFailed as error:
            failed = {m.id for m in (error.failed if error.failed is not None else messages)}
            self.wake()
            return [n for m, n in zip(messages, numbers, strict=True) if m.id not in failed]
        return numbers

    async def _hand_over_taken(
        self, link: Link, taken: list[QueueRecord], counts: list[int]
    ) -> None:
        messages = [record.message for record in taken]
        count = len(messages)
        link.count += count
        self.stats.sent += count
        try:
            await link.target.accept(messages, link)
        except DeliveryFailed as error:
            failed = {m.id for m in (error.failed if error.failed is not None else messages)}
            kept = [i for i, record in enumerate(taken) if record.message.id not in failed]
            taken = [taken[i] for i in kept]
            counts = [counts[i] for i in kept]
            self.wake()
        if taken:
            assert self.memory is not None
            self.stats.acked += self.memory.queue_ack_now(self.id, taken, counts, self.clock.now())

    async def _hand_over(self, link: Link, received: list[Received]) -> None:
        messages = [item.message for item in received]
        count = len(messages)
        link.count += count
        self.stats.sent += count
        failed: set[str] = set()
        try:
            await link.target.accept(messages, link)
        except DeliveryFailed as error:
            failed = {m.id for m in (error.failed if error.failed is not None else messages)}
        done = [item.receipt for item in received if item.message.id not in failed]
        if done:
            try:
                await self.delete(done)
            except StoreError as error:
                self.fail(error.code, error.message, messages)
        if not done or failed:
            self.wake()

    async def counts(self) -> dict[str, int]:
        """Visible, in-flight and delayed counts from the store (also refreshes ``gauges``)."""
        counts = await self.engine.store.queue_counts(self.id, self.clock.now())
        self._counts = {
            "depth": counts.visible,
            "in_flight": counts.in_flight,
            "delayed": counts.delayed,
        }
        return self._counts

    def gauges(self) -> dict[str, Any]:
        if self.memory is None:
            return dict(self._counts)  # a shared store is counted by counts(), not at ticks
        counts = self.memory.queue_counts_now(self.id, self.clock.now())
        return {"depth": counts.visible, "in_flight": counts.in_flight, "delayed": counts.delayed}
