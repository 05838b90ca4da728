"""The embedded store: queues and logs in process memory (lost on restart, and said so)."""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Any, Protocol

from runtime.events import Message
from runtime.store.base import (
    LogRecord,
    QueueCounts,
    QueueOptions,
    QueueRecord,
    Received,
    ReceiveResult,
    SendOutcome,
    Store,
    StoreError,
)

EXPIRED_HANDLE = "The receipt handle has expired."


def body_text(body: Any) -> str:
    """The body as SQS sees it: a string (JSON values are serialised)."""
    return body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))


class QueueJournal(Protocol):
    """Told of every change to a queue's records, by a store that keeps them elsewhere too
    (SqliteStore's write-ahead journal). Plain memory queues have none."""

    def added(self, records: Sequence[QueueRecord]) -> None: ...

    def removed(self, record: QueueRecord, *, moved: bool = False) -> None:
        """Gone for good (deleted, acknowledged, expired) or, with ``moved``, handed to the
        caller to be stored elsewhere (a dead-letter queue, a redrive)."""

    def received(self, record: QueueRecord) -> None:
        """Its receive count (and first receive time) changed."""

    def deduplicated(self, key: Any, at: float) -> None:
        """A FIFO deduplication id was first accepted at ``at``."""

    def cleared(self) -> None:
        """Everything went (PurgeQueue), dedup memory included."""


class MemoryQueue:
    """One SQS queue: visible, delayed and in-flight messages, FIFO groups and dedup memory."""

    journal: QueueJournal | None = None

    def __init__(self, name: str, options: QueueOptions) -> None:
        self.name = name
        self.options = options
        self._sequence = itertools.count(1)
        self._receipts = itertools.count(1)
        self._receipt_prefix = f"{name}:"
        self.ready: deque[QueueRecord] = deque()  # standard queues
        self.groups: OrderedDict[str, deque[QueueRecord]] = OrderedDict()  # FIFO queues
        self.locked: dict[str, int] = {}  # FIFO group → messages in flight
        self.delayed: list[tuple[float, int, QueueRecord]] = []
        self.flight: list[tuple[float, int, QueueRecord]] = []  # custom visibility windows
        # Receives with the queue's default window: deadlines never decrease, so a deque is
        # an ordered timer list without a heap push per message.
        self.flight_fifo: deque[tuple[float, int, QueueRecord]] = deque()
        self.in_flight: dict[int, QueueRecord] = {}
        self.receipts: dict[str, QueueRecord] = {}
        self.dedup: dict[Any, float] = {}
        self.visible_count = 0
        self._retention_check = 0.0

    # --- sending --------------------------------------------------------------------------------
    def send(
        self, messages: Sequence[Message], now: float, delays: Sequence[float] | None
    ) -> list[SendOutcome]:
        options = self.options
        if not options.fifo and delays is None and not options.delay_seconds:
            return self._send_standard(messages, now)
        outcomes: list[SendOutcome] = []
        retention = options.retention_period
        journal = self.journal
        made: list[QueueRecord] = []
        try:
            for index, message in enumerate(messages):
                group = dedup_id = None
                if options.fifo:
                    group, dedup_id = self._fifo_ids(message)
                    key = dedup_id if options.deduplication_scope == "queue" else (group, dedup_id)
                    first = self.dedup.get(key)
                    if first is not None and now - first < options.dedup_window:
                        outcomes.append(SendOutcome(message.id, 0, True))
                        continue
                    self.dedup[key] = now
                    if journal is not None:
                        journal.deduplicated(key, now)
                delay = options.delay_seconds if delays is None else delays[index]
                sequence = next(self._sequence)
                record = self._record(
                    message, now, now + delay, retention, sequence, group, dedup_id
                )
                if delay > 0:
                    heapq.heappush(self.delayed, (record.visible_at, sequence, record))
                else:
                    self._make_visible(record)
                made.append(record)
                outcomes.append(SendOutcome(message.id, sequence))
        finally:
            # A batch refused part way (a FIFO entry without a group) keeps what it stored.
            if journal is not None and made:
                journal.added(made)
        if len(self.dedup) > 10000:
            self._forget_old_dedup_ids(now)
        return outcomes

    def store(self, messages: Sequence[Message], now: float, delays: Sequence[float] | None) -> int:
        """send() without per-message outcomes, for the engine: returns the duplicate count."""
        options = self.options
        if options.fifo or delays is not None or options.delay_seconds:
            return sum(1 for outcome in self.send(messages, now, delays) if outcome.duplicate)
        retention = options.retention_period
        sequence, record = self._sequence, self._record
        if self.journal is not None:
            made = [record(m, now, now, retention, next(sequence), None, None) for m in messages]
            self.ready.extend(made)
            self.journal.added(made)
        else:
            append = self.ready.append
            for message in messages:
                append(record(message, now, now, retention, next(sequence), None, None))
        self.visible_count += len(messages)
        return 0

    def _send_standard(self, messages: Sequence[Message], now: float) -> list[SendOutcome]:
        """The hot path: a standard queue without delays appends straight to the ready deque."""
        retention = self.options.retention_period
        sequence = self._sequence
        record = self._record
        append = self.ready.append
        outcomes = []
        if self.journal is not None:
            made = [record(m, now, now, retention, next(sequence), None, None) for m in messages]
            self.ready.extend(made)
            self.visible_count += len(made)
            self.journal.added(made)
            return [SendOutcome(r.message.id, r.sequence) for r in made]
        for message in messages:
            number = next(sequence)
            append(record(message, now, now, retention, number, None, None))
            outcomes.append(SendOutcome(message.id, number))
        self.visible_count += len(messages)
        return outcomes

    @staticmethod
    def _record(
        message: Message,
        now: float,
        visible_at: float,
        retention: float,
        sequence: int,
        group: str | None,
        dedup_id: str | None,
    ) -> QueueRecord:
        system = message.system
        if not system:
            return QueueRecord(message, now, visible_at, now + retention, sequence, group, dedup_id)
        # A message moved from a source queue keeps its send time (retention) and receive count.
        sent_at = system.get("_sent_at", now)
        return QueueRecord(
            message,
            sent_at,
            visible_at,
            sent_at + retention,
            sequence,
            group,
            dedup_id,
            system.get("ApproximateReceiveCount", 0),
            dead_letter_source=system.get("DeadLetterQueueSourceArn"),
        )

    def _fifo_ids(self, message: Message) -> tuple[str, str]:
        group = message.system.get("MessageGroupId")
        if not group:
            raise StoreError(
                "MissingParameter", "The request must contain the parameter MessageGroupId."
            )
        dedup_id = message.system.get("MessageDeduplicationId")
        if not dedup_id:
            if not self.options.content_based_deduplication:
                raise StoreError(
                    "InvalidParameterValue",
                    "The queue should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly",
                )
            dedup_id = hashlib.sha256(body_text(message.body).encode()).hexdigest()
        return group, dedup_id

    def _forget_old_dedup_ids(self, now: float) -> None:
        window = self.options.dedup_window
        self.dedup = {key: at for key, at in self.dedup.items() if now - at < window}

    def _make_visible(self, record: QueueRecord, *, front: bool = False) -> None:
        self.visible_count += 1
        if record.group is None:
            (self.ready.appendleft if front else self.ready.append)(record)
            return
        group = self.groups.get(record.group)
        if group is None:
            group = self.groups[record.group] = deque()
        if not front:
            group.append(record)
            return
        # Back from flight: ahead of the rest of its group, in sequence order among those
        # returning with it (a group's messages in flight are its head, so the scan is short).
        position = 0
        for waiting in group:
            if waiting.sequence > record.sequence:
                break
            position += 1
        group.insert(position, record)

    # --- time passing ---------------------------------------------------------------------------
    def advance(self, now: float) -> int:
        """Promote due delayed messages, end expired visibility windows, drop in-flight messages
        past their retention (checked at most once a second); returns the expired count."""
        expired = 0
        journal = self.journal
        if now >= self._retention_check and self.in_flight:
            self._retention_check = now + 1.0
            for record in [r for r in self.in_flight.values() if r.expires_at <= now]:
                self._land(record)
                record.deleted = True
                if journal is not None:
                    journal.removed(record)
                expired += 1
        while self.delayed and self.delayed[0][0] <= now:
            _, _, record = heapq.heappop(self.delayed)
            if record.deleted:
                continue
            if record.expires_at <= now:
                record.deleted = True
                if journal is not None:
                    journal.removed(record)
                expired += 1
                continue
            self._make_visible(record)
        # Timers of messages already deleted are dropped now, not at their deadline, so a
        # deleted message is freed at once instead of living on for a visibility timeout.
        fifo = self.flight_fifo
        while fifo and fifo[0][2].deleted:
            fifo.popleft()
        for timers in (self.flight_fifo, self.flight):
            while timers and timers[0][0] <= now:
                if timers is self.flight:
                    deadline, sequence, record = heapq.heappop(self.flight)
                else:
                    deadline, sequence, record = self.flight_fifo.popleft()
                if record.deleted or record.deadline != deadline or sequence not in self.in_flight:
                    continue
                self._land(record)
                if record.expires_at <= now:
                    record.deleted = True
                    if journal is not None:
                        journal.removed(record)
                    expired += 1
                    continue
                self._make_visible(record, front=record.group is not None)
        return expired

    def _land(self, record: QueueRecord) -> None:
        del self.in_flight[record.sequence]
        if record.group is not None:
            left = self.locked[record.group] - 1
            if left:
                self.locked[record.group] = left
            else:
                del self.locked[record.group]

    # --- receiving ------------------------------------------------------------------------------
    def receive(
        self, now: float, max_messages: int, visibility: float | None, *, take: bool = False
    ) -> ReceiveResult:
        """ReceiveMessage; with ``take`` the records themselves are handed out (no receipt
        handles), for the engine's own event source mappings, which ``ack`` them."""
        result = ReceiveResult()
        result.expired = self.advance(now)
        timeout = self.options.visibility_timeout if visibility is None else visibility
        if self.options.fifo:
            candidates = self._fifo_candidates(max_messages, now, result)
        else:
            candidates = self._standard_candidates(max_messages, now, result)
        if take:
            self._take(candidates, now, timeout, result)
            return result
        for record in candidates:
            self._hand_out(record, now, timeout, result)
        return result

    def _take(
        self, records: list[QueueRecord], now: float, timeout: float, result: ReceiveResult
    ) -> None:
        deadline = now + timeout
        fifo_timers = timeout == self.options.visibility_timeout
        in_flight, taken, counts = self.in_flight, result.taken, result.counts
        for record in records:
            count = record.receive_count = record.receive_count + 1
            if record.first_receive_at is None:
                record.first_receive_at = now
            record.receipt = None
            record.deadline = deadline
            in_flight[record.sequence] = record
            if record.group is not None:
                self.locked[record.group] = self.locked.get(record.group, 0) + 1
            if fifo_timers:
                self.flight_fifo.append((deadline, record.sequence, record))
            else:
                heapq.heappush(self.flight, (deadline, record.sequence, record))
            taken.append(record)
            counts.append(count)
        journal = self.journal
        if journal is not None:
            for record in records:
                journal.received(record)

    def ack(self, taken: Sequence[QueueRecord], counts: Sequence[int], now: float) -> int:
        """Delete records handed out by ``receive(take=True)`` (with the receive counts they
        were taken at), unless received again since."""
        self.advance(now)
        deleted = 0
        in_flight = self.in_flight
        journal = self.journal
        for record, count in zip(taken, counts, strict=True):
            if record.deleted or record.receive_count != count:
                continue
            if record.sequence in in_flight:
                self._land(record)
            elif self.options.fifo:
                continue  # its visibility ended: FIFO refuses an expired handle
            else:
                self.visible_count -= 1
            record.deleted = True
            if journal is not None:
                journal.removed(record)
            deleted += 1
        fifo = self.flight_fifo
        while fifo and fifo[0][2].deleted:
            fifo.popleft()
        return deleted

    def _usable(self, record: QueueRecord, now: float, result: ReceiveResult) -> bool:
        if record.deleted:
            return False
        self.visible_count -= 1
        if record.expires_at <= now:
            record.deleted = True
            if self.journal is not None:
                self.journal.removed(record)
            result.expired += 1
            return False
        limit = self.options.max_receive_count
        if limit and record.receive_count >= limit:
            record.deleted = True
            if self.journal is not None:
                self.journal.removed(record, moved=True)
            result.dead_lettered.append(record)
            return False
        return True

    def _standard_candidates(
        self, wanted: int, now: float, result: ReceiveResult
    ) -> list[QueueRecord]:
        taken: list[QueueRecord] = []
        ready = self.ready
        while ready and len(taken) < wanted:
            record = ready.popleft()
            if self._usable(record, now, result):
                taken.append(record)
        return taken

    def _fifo_candidates(self, wanted: int, now: float, result: ReceiveResult) -> list[QueueRecord]:
        taken: list[QueueRecord] = []
        for name in list(self.groups):
            if len(taken) >= wanted:
                break
            if name in self.locked:
                continue
            group = self.groups[name]
            while group and len(taken) < wanted:
                record = group.popleft()
                if not self._usable(record, now, result):
                    continue
                taken.append(record)
            if not group:
                del self.groups[name]
        return taken

    def _hand_out(
        self, record: QueueRecord, now: float, timeout: float, result: ReceiveResult
    ) -> None:
        record.receive_count += 1
        if record.first_receive_at is None:
            record.first_receive_at = now
        if self.journal is not None:
            self.journal.received(record)
        receipt = f"{self._receipt_prefix}{record.sequence}:{next(self._receipts)}"
        record.receipt = receipt
        record.deadline = now + timeout
        self.receipts[receipt] = record
        self.in_flight[record.sequence] = record
        if record.group is not None:
            self.locked[record.group] = self.locked.get(record.group, 0) + 1
        entry = (record.deadline, record.sequence, record)
        if timeout == self.options.visibility_timeout:
            self.flight_fifo.append(entry)
        else:
            heapq.heappush(self.flight, entry)
        result.messages.append(
            Received(
                record.message,
                receipt,
                record.receive_count,
                record.sent_at,
                record.first_receive_at,
                record.sequence,
                record.group,
                record.dead_letter_source,
            )
        )

    # --- deleting and visibility ----------------------------------------------------------------
    def delete(self, receipts: Sequence[str], now: float) -> int:
        self.advance(now)
        deleted = 0
        for receipt in receipts:
            record = self.receipts.get(receipt)
            if record is None:
                raise StoreError(
                    "ReceiptHandleIsInvalid", f'The input receipt handle "{receipt}" is not valid.'
                )
            if record.deleted:
                self.receipts.pop(receipt, None)
                continue
            if record.receipt != receipt:
                continue  # superseded by a later receive: succeeds without deleting
            if record.sequence not in self.in_flight:
                if self.options.fifo:
                    raise StoreError(
                        "InvalidParameterValue",
                        f"Value {receipt} for parameter ReceiptHandle is invalid. "
                        f"Reason: {EXPIRED_HANDLE}",
                    )
                self.visible_count -= 1  # visible again but not re-received: AWS still deletes
            else:
                self._land(record)
            record.deleted = True
            if self.journal is not None:
                self.journal.removed(record)
            self.receipts.pop(receipt, None)
            deleted += 1
        return deleted

    def change_visibility(self, receipt: str, timeout: float, now: float) -> None:
        self.advance(now)
        record = self.receipts.get(receipt)
        if record is None or record.deleted:
            raise StoreError(
                "InvalidParameterValue",
                f"Value {receipt} for parameter ReceiptHandle is invalid. Reason: "
                "Message does not exist or is not available for visibility timeout change.",
            )
        if record.sequence not in self.in_flight or record.receipt != receipt:
            return  # visibility already ended: AWS answers 200 for standard queues
        if timeout == 0:
            self._land(record)
            self._make_visible(record, front=True)
            return
        record.deadline = now + timeout
        heapq.heappush(self.flight, (record.deadline, record.sequence, record))

    def counts(self, now: float) -> QueueCounts:
        self.advance(now)
        delayed = sum(1 for _, _, record in self.delayed if not record.deleted)
        return QueueCounts(max(0, self.visible_count), len(self.in_flight), delayed)

    def next_change(self) -> float | None:
        times = []
        while self.delayed and self.delayed[0][2].deleted:
            heapq.heappop(self.delayed)
        if self.delayed:
            times.append(self.delayed[0][0])
        for timers in (self.flight_fifo, self.flight):
            while timers and (
                timers[0][2].deleted
                or timers[0][2].deadline != timers[0][0]
                or timers[0][1] not in self.in_flight
            ):
                if timers is self.flight:
                    heapq.heappop(self.flight)
                else:
                    self.flight_fifo.popleft()
            if timers:
                times.append(timers[0][0])
        return min(times) if times else None

    def purge(self) -> int:
        count = self.size()
        # Sequence numbers and receipt handles are never reused, so a handle from before the
        # purge cannot delete a message sent after it.
        kept = self.journal, self._sequence, self._receipts, self._receipt_prefix
        self.__init__(self.name, self.options)  # type: ignore[misc]
        self.journal, self._sequence, self._receipts, self._receipt_prefix = kept
        if self.journal is not None:
            self.journal.cleared()
        return count

    def size(self, now: float | None = None) -> int:
        """Messages held: visible, in flight and delayed. With ``now``, counted one by one
        without those past their retention that no receive has dropped yet."""
        if now is not None:
            self.advance(now)
        delayed = sum(1 for _, _, record in self.delayed if not record.deleted)
        if now is None:
            return max(0, self.visible_count) + len(self.in_flight) + delayed
        visible = sum(
            1
            for source in (self.ready, *self.groups.values())
            for record in source
            if not record.deleted and record.expires_at > now
        )
        return visible + len(self.in_flight) + delayed

    def take_all(self, now: float) -> list[QueueRecord]:
        self.advance(now)
        records: list[QueueRecord] = []
        sources = [self.ready, *self.groups.values()]
        for source in sources:
            while source:
                record = source.popleft()
                if not record.deleted:
                    record.deleted = True
                    if self.journal is not None:
                        self.journal.removed(record, moved=True)
                    records.append(record)
        self.groups.clear()
        self.visible_count = 0
        return records

    def peek(self, limit: int) -> list[QueueRecord]:
        records = [r for r in self.ready if not r.deleted][:limit]
        for group in self.groups.values():
            records.extend(r for r in group if not r.deleted)
        return records[:limit]


class MemoryLog:
    """One shard or partition: an append-only list with a moving start offset."""

    def __init__(self) -> None:
        self.records: deque[LogRecord] = deque()
        self.start = 0
        self.end = 0


class MemoryStore(Store):
    """Queues and logs in this process's memory: fast, and gone when the process ends."""

    name = "memory"
    durable = False

    def __init__(self) -> None:
        self.queues: dict[str, MemoryQueue] = {}
        self.logs: dict[tuple[str, int], MemoryLog] = {}
        self.offsets: dict[tuple[str, str, int], int] = {}

    def _queue(self, name: str) -> MemoryQueue:
        try:
            return self.queues[name]
        except KeyError:
            raise StoreError(
                "AWS.SimpleQueueService.NonExistentQueue", f"No queue {name}"
            ) from None

    async def queue_declare(self, queue: str, options: QueueOptions) -> None:
        existing = self.queues.get(queue)
        if existing is None:
            self.queues[queue] = MemoryQueue(queue, options)
        else:
            existing.options = options

    async def queue_send(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        *,
        delays: Sequence[float] | None = None,
    ) -> list[SendOutcome]:
        return self._queue(queue).send(messages, now, delays)

    def queue_send_now(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        delays: Sequence[float] | None = None,
    ) -> list[SendOutcome]:
        """The synchronous fast path the engine uses when the store is in memory."""
        return self._queue(queue).send(messages, now, delays)

    def queue_store_now(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        delays: Sequence[float] | None = None,
    ) -> int:
        """Synchronous send for the engine's hot path; returns how many were duplicates."""
        return self._queue(queue).store(messages, now, delays)

    async def queue_receive(
        self,
        queue: str,
        now: float,
        *,
        max_messages: int = 1,
        visibility_timeout: float | None = None,
    ) -> ReceiveResult:
        return self._queue(queue).receive(now, max_messages, visibility_timeout)

    async def queue_delete(self, queue: str, receipts: Sequence[str], now: float) -> int:
        return self._queue(queue).delete(receipts, now)

    async def queue_change_visibility(
        self, queue: str, receipt: str, timeout: float, now: float
    ) -> None:
        self._queue(queue).change_visibility(receipt, timeout, now)

    async def queue_counts(self, queue: str, now: float) -> QueueCounts:
        return self._queue(queue).counts(now)

    def queue_take_now(self, queue: str, now: float, max_messages: int) -> ReceiveResult:
        return self._queue(queue).receive(now, max_messages, None, take=True)

    def queue_ack_now(
        self, queue: str, taken: Sequence[QueueRecord], counts: Sequence[int], now: float
    ) -> int:
        return self._queue(queue).ack(taken, counts, now)

    def queue_counts_now(self, queue: str, now: float) -> QueueCounts:
        return self._queue(queue).counts(now)

    async def queue_next_change(self, queue: str, now: float) -> float | None:
        return self._queue(queue).next_change()

    async def queue_purge(self, queue: str) -> int:
        return self._queue(queue).purge()

    async def queue_take_all(self, queue: str, now: float) -> list[QueueRecord]:
        return self._queue(queue).take_all(now)

    async def queue_peek(self, queue: str, now: float, limit: int = 10) -> list[QueueRecord]:
        found = self._queue(queue)
        found.advance(now)
        return found.peek(limit)

    # --- logs -----------------------------------------------------------------------------------
    def _log(self, log: str, partition: int) -> MemoryLog:
        key = (log, partition)
        found = self.logs.get(key)
        if found is None:
            found = self.logs[key] = MemoryLog()
        return found

    async def log_append(self, log: str, partition: int, records: Sequence[LogRecord]) -> list[int]:
        return [record.offset for record in self._append(log, partition, records)]

    def _append(self, log: str, partition: int, records: Sequence[LogRecord]) -> list[LogRecord]:
        """Append with consecutive offsets; returns the records as stored."""
        target = self._log(log, partition)
        stored: list[LogRecord] = []
        for record in records:
            stored.append(
                LogRecord(
                    target.end,
                    record.key,
                    record.value,
                    record.timestamp,
                    record.headers,
                    record.message,
                )
            )
            target.end += 1
        target.records.extend(stored)
        return stored

    async def log_read(self, log: str, partition: int, offset: int, limit: int) -> list[LogRecord]:
        target = self._log(log, partition)
        index = max(0, offset - target.start)
        records = target.records
        if index >= len(records):
            return []
        return [records[i] for i in range(index, min(len(records), index + limit))]

    async def log_bounds(self, log: str, partition: int) -> tuple[int, int]:
        target = self._log(log, partition)
        return target.start, target.end

    async def log_trim(self, log: str, partition: int, before: float) -> int:
        target = self._log(log, partition)
        dropped = 0
        while target.records and target.records[0].timestamp < before:
            target.records.popleft()
            target.start += 1
            dropped += 1
        return dropped

    async def offset_commit(self, log: str, group: str, partition: int, offset: int) -> None:
        self.offsets[(log, group, partition)] = offset

    async def offset_get(self, log: str, group: str, partition: int) -> int | None:
        return self.offsets.get((log, group, partition))

    # --- the whole namespace --------------------------------------------------------------------
    async def inventory(self, now: float) -> dict[str, dict[str, int]]:
        """Buffers holding something (an empty one is not listed)."""
        queues = {}
        for name, queue in self.queues.items():
            if size := queue.size(now):
                queues[name] = size
        logs: dict[str, int] = {}
        for (name, _), log in self.logs.items():
            if log.records:
                logs[name] = logs.get(name, 0) + len(log.records)
        return {"queues": queues, "logs": logs}

    async def drop(self, names: Sequence[str]) -> int:
        return self._drop(set(names))

    async def clear(self) -> int:
        return self._drop(None)

    def _drop(self, names: set[str] | None) -> int:
        """Empty the named buffers (all with None). A declared queue stays declared, empty,
        so a node still holding it keeps working."""
        dropped = 0
        for name, queue in self.queues.items():
            if names is None or name in names:
                dropped += queue.purge()
        for key in [key for key in self.logs if names is None or key[0] in names]:
            dropped += len(self.logs.pop(key).records)
        for key in [key for key in self.offsets if names is None or key[0] in names]:
            del self.offsets[key]
        return dropped
