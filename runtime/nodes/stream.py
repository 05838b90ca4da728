"""Kinesis data stream: shards by MD5 of the partition key, retention, independent consumers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import DeliveryFailed, Link, NodeRuntime, TaskFactory, body_bytes
from runtime.store import LogRecord, StoreError
from runtime.templates import seeded_uuid

MAX_EFO_CONSUMERS = 20  # enhanced fan-out consumers per stream
MIB = 1048576


class Stream(Kind):
    name = "stream"
    label = "Stream"
    group = "Buffers"
    icon = "≋"
    description = (
        "Kinesis stream: ordered per shard, kept for its retention; every consumer reads all."
    )
    models = "Amazon Kinesis Data Streams"
    feeds = frozenset({"function", "state_machine", "log"})
    fields = (
        Field(
            "capacity_mode",
            "choice",
            "PROVISIONED",
            "PROVISIONED: a fixed number of shards. ON_DEMAND: AWS scales shards for you; "
            "Flowyard runs it with the shard count below.",
            choices=("PROVISIONED", "ON_DEMAND"),
        ),
        Field(
            "shard_count",
            "int",
            1,
            "Shards split the 128-bit MD5 space of partition keys evenly; order is kept per "
            "shard only. Each shard takes 1,000 records/s and 1 MiB/s of writes.",
            minimum=1,
            maximum=500,
            unit="shards",
        ),
        Field(
            "retention_hours",
            "int",
            24,
            "How long records stay readable. Reading never deletes them.",
            label="Retention",
            minimum=24,
            maximum=8760,
            unit="h",
        ),
        Field(
            "max_record_size",
            "int",
            MIB,
            "Largest record, data plus partition key. 1 MiB by default; streams may opt in to "
            "up to 10 MiB.",
            minimum=MIB,
            maximum=10 * MIB,
            unit="bytes",
        ),
        Field(
            "enforce_throughput",
            "bool",
            False,
            "Realism: throttle writes above 1,000 records/s or 1 MiB/s per shard with "
            "ProvisionedThroughputExceededException, and reads above 5 calls/s per shard.",
        ),
    )
    edge_fields = (
        Field(
            "starting_position",
            "choice",
            "LATEST",
            "Where a new consumer starts: TRIM_HORIZON the oldest retained record, LATEST only "
            "records written from now on, AT_TIMESTAMP the first record at or after a time.",
            choices=("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"),
        ),
        Field(
            "starting_timestamp",
            "str",
            "",
            "AT_TIMESTAMP only: an ISO-8601 time, e.g. 2026-01-01T12:00:00Z.",
            max_length=64,
        ),
        Field(
            "batch_size",
            "int",
            100,
            "Most records handed to the consumer at once (one batch per shard, in order).",
            minimum=1,
            maximum=10000,
            unit="records",
        ),
        Field(
            "enhanced_fan_out",
            "bool",
            False,
            "Register the consumer for enhanced fan-out: its own 2 MiB/s per shard pushed to "
            "it, instead of sharing 2 MiB/s and 5 reads/s per shard with other consumers. At "
            "most 20 per stream.",
        ),
    )

    @classmethod
    def extra_edge_checks(cls, config: dict[str, Any]) -> list[Problem]:
        stamp = config["starting_timestamp"]
        if config["starting_position"] != "AT_TIMESTAMP":
            if stamp:
                return [
                    ("/starting_timestamp", "applies only when starting_position is AT_TIMESTAMP")
                ]
            return []
        if not stamp:
            return [("/starting_timestamp", "AT_TIMESTAMP needs a timestamp")]
        try:
            datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return [("/starting_timestamp", "must be an ISO-8601 time, e.g. 2026-01-01T12:00:00Z")]
        return []


HASH_SPACE = 2**128
ITERATOR_LIFETIME = 300.0
MAX_PUT_RECORDS = 500
RETRY_DELAY = 1.0  # a failed batch blocks its shard and is retried


@dataclass(slots=True)
class ShardInfo:
    """One shard's hash range and lineage; ``ending`` (an offset) is set once it is closed."""

    start: int
    end: int
    parent: int | None = None
    adjacent: int | None = None
    ending: int | None = None
    ending_sequence: str | None = None


class StreamNode(NodeRuntime):
    """A Kinesis stream: records go to the shard whose MD5 hash range holds the partition key;
    sequence numbers grow per shard; reads never delete. Each out-link is an independent
    consumer with its own position per shard (a poller per shard, in order)."""

    kind = "stream"

    def setup(self) -> None:
        self.shards = self.settings["shard_count"]
        self.step = HASH_SPACE // self.shards
        self.layout = [ShardInfo(*self._even_range(index)) for index in range(self.shards)]
        self.resharded = False
        self.arn = self.engine.arn("kinesis", f"stream/{self.id}")
        self.retention = self.settings["retention_hours"] * 3600
        self.positions: dict[tuple[str, int], int] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self.window: dict[int, tuple[int, int]] = {}  # shard → (second, records) for realism
        self.reads: dict[int, tuple[int, int]] = {}  # shard → (second, GetRecords calls)
        self.subscriptions: dict[tuple[str, str], float] = {}  # EFO: last SubscribeToShard

    def _even_range(self, shard: int) -> tuple[int, int]:
        start = shard * self.step
        end = HASH_SPACE - 1 if shard == self.shards - 1 else (shard + 1) * self.step - 1
        return start, end

    def shard_range(self, shard: int) -> tuple[int, int]:
        info = self.layout[shard]
        return info.start, info.end

    def shard_for(self, partition_key: str, explicit_hash_key: str | None = None) -> int:
        if explicit_hash_key is not None:
            value = int(explicit_hash_key)
            if not 0 <= value < HASH_SPACE:
                raise StoreError(
                    "InvalidArgumentException",
                    f"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
                    f"[0, {HASH_SPACE - 1}]. Specified value was {explicit_hash_key}",
                )
        else:
            value = int(hashlib.md5(partition_key.encode("utf-8")).hexdigest(), 16)
        if not self.resharded:
            return min(value // self.step, self.shards - 1)
        for index, info in enumerate(self.layout):
            if info.ending is None and info.start <= value <= info.end:
                return index
        raise StoreError("InternalFailure", "no open shard holds this hash key")

    # --- resharding (semantics §4.7) --------------------------------------------------------------
    def _open_shard(self, shard_id: str) -> int:
        index = int(shard_id.rsplit("-", 1)[-1])
        if not 0 <= index < len(self.layout):
            raise StoreError("ResourceNotFoundException", f"Shard {shard_id} does not exist.")
        if self.layout[index].ending is not None:
            raise StoreError("ResourceInUseException", f"Shard {shard_id} is not open.")
        return index

    async def _close(self, index: int) -> None:
        _, end = await self.engine.store.log_bounds(self.id, index)
        info = self.layout[index]
        info.ending = end
        info.ending_sequence = self.sequence_number(index, max(end - 1, 0), self.clock.now())

    async def split_shard(self, shard_id: str, new_starting_hash_key: str) -> list[str]:
        """SplitShard: the parent closes; two children split its hash range at the key."""
        index = self._open_shard(shard_id)
        parent = self.layout[index]
        key = int(new_starting_hash_key)
        if not parent.start < key <= parent.end:
            raise StoreError(
                "InvalidArgumentException",
                f"NewStartingHashKey {key} is not inside the range of {shard_id}.",
            )
        await self._close(index)
        children = [
            ShardInfo(parent.start, key - 1, parent=index),
            ShardInfo(key, parent.end, parent=index),
        ]
        return self._add(children)

    async def merge_shards(self, shard_id: str, adjacent_shard_id: str) -> list[str]:
        """MergeShards: two shards with contiguous ranges close into one child."""
        first, second = self._open_shard(shard_id), self._open_shard(adjacent_shard_id)
        low, high = sorted((self.layout[first], self.layout[second]), key=lambda i: i.start)
        if low.end + 1 != high.start:
            raise StoreError(
                "InvalidArgumentException",
                f"Shards {shard_id} and {adjacent_shard_id} are not adjacent.",
            )
        await self._close(first)
        await self._close(second)
        return self._add([ShardInfo(low.start, high.end, parent=first, adjacent=second)])

    def _add(self, children: list[ShardInfo]) -> list[str]:
        self.resharded = True
        added = []
        for child in children:
            self.layout.append(child)
            index = len(self.layout) - 1
            added.append(self.shard_id(index))
            if self.engine.state.value in ("running", "paused"):
                for link in self.consumers():
                    name = f"{self.id}:consume:{link.target.id}:{self.shard_id(index)}"
                    self.engine._spawn(
                        name, self.engine._guarded(self, self._consumer(link, index))
                    )
        self.wake()
        return added

    def child_shards(self, index: int) -> list[dict[str, Any]]:
        return [
            {
                "ShardId": self.shard_id(number),
                "ParentShards": [
                    self.shard_id(parent)
                    for parent in (info.parent, info.adjacent)
                    if parent is not None
                ],
                "HashKeyRange": {
                    "StartingHashKey": str(info.start),
                    "EndingHashKey": str(info.end),
                },
            }
            for number, info in enumerate(self.layout)
            if index in (info.parent, info.adjacent)
        ]

    @staticmethod
    def shard_id(shard: int) -> str:
        return f"shardId-{shard:012d}"

    def sequence_number(self, shard: int, offset: int, timestamp: float) -> str:
        # Long decimal strings that grow per shard and with time, not usable as offsets.
        return f"49{int(timestamp * 1000):015d}{shard:05d}{offset:020d}"

    @staticmethod
    def offset_of(sequence: str) -> int:
        return int(sequence[-20:])

    # --- PutRecord(s) ---------------------------------------------------------------------------
    async def accept(self, messages: list[Message], link: Link | None) -> None:
        by_shard: dict[int, list[LogRecord]] = {}
        now = self.clock.now()
        for message in messages:
            key = message.system.get("PartitionKey") or seeded_uuid(self.engine.rng)
            size = body_bytes(message.body) + len(str(key).encode())
            if not 1 <= len(str(key)) <= 256:
                self.refuse("ValidationException", "PartitionKey must be 1-256 characters", message)
                continue
            limit = self.settings["max_record_size"]
            if size > limit:
                self.refuse(
                    "ValidationException",
                    "1 validation error detected: Value at 'data' failed to satisfy constraint: "
                    f"Member must have length less than or equal to {limit}",
                    message,
                )
                continue
            try:
                shard = self.shard_for(str(key), message.system.get("ExplicitHashKey"))
            except StoreError as error:
                self.refuse(error.code, error.message, message)
                continue
            if self.settings["enforce_throughput"] and not self._within_limits(shard, now):
                self.refuse(
                    "ProvisionedThroughputExceededException",
                    "Rate exceeded for shard " + self.shard_id(shard),
                    message,
                )
                continue
            stored = message.derive(self.id, system={**message.system, "PartitionKey": str(key)})
            by_shard.setdefault(shard, []).append(
                LogRecord(0, str(key), stored.body, now, (), stored)
            )
        for shard, records in by_shard.items():
            await self.engine.store.log_append(self.id, shard, records)
            self.stats.received += len(records)
            self.note("received", [record.message for record in records if record.message])
        if by_shard:
            self.wake()

    def _within_limits(self, shard: int, now: float) -> bool:
        second, count = self.window.get(shard, (int(now), 0))
        if second != int(now):
            second, count = int(now), 0
        if count >= 1000:
            return False
        self.window[shard] = (second, count + 1)
        return True

    async def put_record(
        self, data: Any, partition_key: str, *, explicit_hash_key: str | None = None
    ) -> dict[str, str]:
        """PutRecord: returns ShardId and SequenceNumber (or raises StoreError)."""
        shard = self.shard_for(partition_key, explicit_hash_key)
        now = self.clock.now()
        message = Message.new(data, now=now, system={"PartitionKey": partition_key}, node=self.id)
        offsets = await self.engine.store.log_append(
            self.id, shard, [LogRecord(0, partition_key, data, now, (), message)]
        )
        self.stats.received += 1
        self.wake()
        return {
            "ShardId": self.shard_id(shard),
            "SequenceNumber": self.sequence_number(shard, offsets[0], now),
        }

    async def put_records(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """PutRecords: at most 500 entries {Data, PartitionKey, ExplicitHashKey?}; not atomic,
        per-record results in request order (semantics §4.2)."""
        if not 1 <= len(entries) <= MAX_PUT_RECORDS:
            raise StoreError(
                "ValidationException",
                "1 validation error detected: Value at 'records' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_PUT_RECORDS}",
            )
        results: list[dict[str, Any]] = []
        failed = 0
        now = self.clock.now()
        for entry in entries:
            key = str(entry.get("PartitionKey", ""))
            try:
                shard = self.shard_for(key, entry.get("ExplicitHashKey"))
                if self.settings["enforce_throughput"] and not self._within_limits(shard, now):
                    raise StoreError(
                        "ProvisionedThroughputExceededException",
                        "Rate exceeded for shard " + self.shard_id(shard),
                    )
                result = await self.put_record(entry.get("Data"), key, explicit_hash_key=None)
                results.append(result)
            except StoreError as error:
                failed += 1
                results.append({"ErrorCode": error.code, "ErrorMessage": error.message})
        return {"FailedRecordCount": failed, "Records": results}

    def _read_allowed(self, shard: int) -> bool:
        """Realism: 5 GetRecords calls per second per shard, shared by polling consumers."""
        if not self.settings["enforce_throughput"]:
            return True
        second = int(self.clock.now())
        window, calls = self.reads.get(shard, (second, 0))
        if window != second:
            window, calls = second, 0
        self.reads[shard] = (window, calls + 1)
        return calls < 5

    def wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- shard iterators and GetRecords ---------------------------------------------------------
    async def get_shard_iterator(
        self,
        shard_id: str,
        iterator_type: str,
        *,
        sequence_number: str | None = None,
        timestamp: float | None = None,
    ) -> str:
        shard = int(shard_id.rsplit("-", 1)[-1])
        await self._trim(shard)
        start, end = await self.engine.store.log_bounds(self.id, shard)
        if iterator_type == "TRIM_HORIZON":
            offset = start
        elif iterator_type == "LATEST":
            offset = end
        elif iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if sequence_number is None or int(sequence_number[-25:-20]) != shard:
                raise StoreError(
                    "InvalidArgumentException",
                    f"Invalid StartingSequenceNumber for {shard_id}: {sequence_number}",
                )
            offset = self.offset_of(sequence_number) + (iterator_type == "AFTER_SEQUENCE_NUMBER")
        elif iterator_type == "AT_TIMESTAMP":
            offset = await self._offset_at(shard, timestamp or 0.0, start, end)
        else:
            raise StoreError("InvalidArgumentException", f"Unknown iterator type {iterator_type}")
        return self._iterator(shard, offset)

    def _iterator(self, shard: int, offset: int) -> str:
        raw = json.dumps([self.id, shard, offset, self.clock.now()]).encode()
        return base64.b64encode(raw).decode()

    async def _offset_at(self, shard: int, when: float, start: int, end: int) -> int:
        records = await self.engine.store.log_read(self.id, shard, start, end - start)
        for record in records:
            if record.timestamp >= when:
                return record.offset
        return end

    async def get_records(self, iterator: str, limit: int = 10000) -> dict[str, Any]:
        try:
            stream, shard, offset, issued = json.loads(base64.b64decode(iterator))
        except ValueError:
            raise StoreError("InvalidArgumentException", "Invalid ShardIterator.") from None
        if stream != self.id:
            raise StoreError("InvalidArgumentException", "Invalid ShardIterator.")
        if self.clock.now() - issued > ITERATOR_LIFETIME:
            raise StoreError(
                "ExpiredIteratorException",
                f"Iterator expired. The iterator was created at time {issued} while right now "
                f"it is {self.clock.now()} which is further in the future than the tolerated "
                f"delay of {int(ITERATOR_LIFETIME * 1000)} milliseconds.",
            )
        if not self._read_allowed(shard):
            raise StoreError(
                "ProvisionedThroughputExceededException",
                f"Rate exceeded for {self.shard_id(shard)}: 5 GetRecords calls per second.",
            )
        await self._trim(shard)
        start, end = await self.engine.store.log_bounds(self.id, shard)
        records = await self.engine.store.log_read(self.id, shard, max(offset, start), limit)
        following = records[-1].offset + 1 if records else max(offset, start)
        newest = records[-1].timestamp if records else self.clock.now()
        ending = self.layout[shard].ending
        if ending is not None and following >= ending:
            # A closed shard read to its end: no next iterator, its children instead.
            return {
                "Records": [self.record_dict(shard, record) for record in records],
                "NextShardIterator": None,
                "MillisBehindLatest": 0,
                "ChildShards": self.child_shards(shard),
            }
        return {
            "Records": [self.record_dict(shard, record) for record in records],
            "NextShardIterator": self._iterator(shard, following),
            "MillisBehindLatest": 0
            if following >= end
            else int((self.clock.now() - newest) * 1000),
        }

    async def subscribe_to_shard(
        self,
        consumer: str,
        shard_id: str,
        position: str = "TRIM_HORIZON",
        *,
        sequence_number: str | None = None,
    ) -> dict[str, Any]:
        """SubscribeToShard for an enhanced fan-out consumer: one push event with the records
        from the position and the ContinuationSequenceNumber to resubscribe from; a second
        subscription of the same consumer and shard within 5 s is refused."""
        key = (consumer, shard_id)
        now = self.clock.now()
        last = self.subscriptions.get(key)
        if last is not None and now - last < 5:
            raise StoreError(
                "ResourceInUseException",
                f"Another active subscription exists for consumer {consumer} on {shard_id}.",
            )
        self.subscriptions[key] = now
        if position == "CONTINUATION":
            position = "AFTER_SEQUENCE_NUMBER"
        iterator = await self.get_shard_iterator(
            shard_id, position, sequence_number=sequence_number
        )
        shard = int(shard_id.rsplit("-", 1)[-1])
        self.reads.pop(shard, None)  # a dedicated 2 MiB/s pipe: no shared read budget
        page = await self.get_records(iterator)
        records = page["Records"]
        continuation = records[-1]["SequenceNumber"] if records else sequence_number
        return {
            "Records": records,
            "ContinuationSequenceNumber": continuation,
            "MillisBehindLatest": page["MillisBehindLatest"],
            "ChildShards": page.get("ChildShards", []),
        }

    def record_dict(self, shard: int, record: LogRecord) -> dict[str, Any]:
        return {
            "SequenceNumber": self.sequence_number(shard, record.offset, record.timestamp),
            "ApproximateArrivalTimestamp": record.timestamp,
            "Data": record.value,
            "PartitionKey": record.key,
        }

    async def _trim(self, shard: int) -> None:
        dropped = await self.engine.store.log_trim(
            self.id, shard, self.clock.now() - self.retention
        )
        self.stats.expired += dropped

    # --- consumers: one poller per shard per out-link -------------------------------------------
    def tasks(self) -> list[tuple[str, TaskFactory]]:
        return [
            (f"consume:{link.target.id}:{self.shard_id(shard)}", self._consumer(link, shard))
            for link in self.consumers()
            for shard in range(len(self.layout))
        ]

    def consumers(self) -> list[Link]:
        """Out-links that may consume: past 20 enhanced fan-out consumers, registering fails
        (RegisterStreamConsumer answers LimitExceededException) and that consumer never runs."""
        allowed: list[Link] = []
        registered = 0
        for link in self.links:
            if link.config["enhanced_fan_out"]:
                registered += 1
                if registered > MAX_EFO_CONSUMERS:
                    self.refuse(
                        "LimitExceededException",
                        f"Consumer {link.target.id}: a stream has at most {MAX_EFO_CONSUMERS} "
                        "enhanced fan-out consumers.",
                    )
                    continue
            allowed.append(link)
        return allowed

    async def _start_offset(self, link: Link, shard: int) -> int:
        await self._trim(shard)
        start, end = await self.engine.store.log_bounds(self.id, shard)
        position = link.config["starting_position"]
        if position == "TRIM_HORIZON":
            return start
        if position == "AT_TIMESTAMP":
            stamp = link.config["starting_timestamp"].replace("Z", "+00:00")
            when = datetime.fromisoformat(stamp).timestamp()
            return await self._offset_at(shard, when, start, end)
        return end

    def _consumer(self, link: Link, shard: int) -> TaskFactory:
        batch_size = link.config["batch_size"]

        async def consume() -> None:
            loop = asyncio.get_running_loop()
            info = self.layout[shard]
            parents = [p for p in (info.parent, info.adjacent) if p is not None]
            # Per-key order holds only if a parent is read to its end before its children.
            while any(not self._finished(link, parent) for parent in parents):
                waiter = loop.create_future()
                self._waiters.append(waiter)
                await waiter
            offset = 0 if parents else await self._start_offset(link, shard)
            self.positions[(link.id, shard)] = offset
            while True:
                if info.ending is not None and offset >= info.ending:
                    self.wake()  # children waiting on this parent may start
                    return
                await self.engine.gate()
                await self._trim(shard)
                start, _ = await self.engine.store.log_bounds(self.id, shard)
                offset = max(offset, start)
                records = await self.engine.store.log_read(self.id, shard, offset, batch_size)
                if not records:
                    waiter = loop.create_future()
                    self._waiters.append(waiter)
                    await waiter
                    continue
                messages = [record.message for record in records if record.message is not None]
                if await self._hand_over(link, messages):
                    offset = records[-1].offset + 1
                    self.positions[(link.id, shard)] = offset
                else:
                    await self.clock.sleep(RETRY_DELAY)

        return consume

    def _finished(self, link: Link, shard: int) -> bool:
        ending = self.layout[shard].ending
        return ending is not None and self.positions.get((link.id, shard), -1) >= ending

    async def _hand_over(self, link: Link, messages: list[Message]) -> bool:
        link.count += len(messages)
        self.stats.sent += len(messages)
        try:
            await link.target.accept(messages, link)
        except DeliveryFailed:
            self.stats.retries += len(messages)
            return False
        return True

    def gauges(self) -> dict[str, Any]:
        return {"shards": self.shards}
