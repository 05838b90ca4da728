"""MSK (Kafka) topic: partitions by key, offsets, consumer groups with committed offsets."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import DeliveryFailed, Link, NodeRuntime, TaskFactory, body_bytes
from runtime.store import LogRecord, StoreError

_GROUP_ID = r"[A-Za-z0-9._-]+"


class KafkaTopic(Kind):
    name = "kafka_topic"
    label = "Kafka topic"
    group = "Buffers"
    icon = "☰"
    description = (
        "Kafka topic: records kept by offset per partition; each consumer group reads all."
    )
    models = "Amazon MSK (Apache Kafka)"
    feeds = frozenset({"function", "state_machine", "log"})
    fields = (
        Field(
            "partitions",
            "int",
            1,
            "Records with a key go to murmur2(key) % partitions, so order holds per key; "
            "keys without one are spread round-robin. Partitions can be added, never removed, "
            "and adding them remaps keys. Flowyard allows up to 1,000.",
            minimum=1,
            maximum=1000,
        ),
        Field(
            "replication_factor",
            "int",
            3,
            "Copies of each partition (MSK's default is 3, one per zone). Flowyard runs one "
            "logical broker, so this is informational and exported to CloudFormation.",
            minimum=1,
            maximum=3,
        ),
        Field(
            "min_insync_replicas",
            "int",
            2,
            "Replicas that must acknowledge an acks=all write (MSK's default is 2); at most "
            "the replication factor.",
            label="Min in-sync replicas",
            minimum=1,
            maximum=3,
        ),
        Field(
            "cleanup_policy",
            "choice",
            "delete",
            "delete: drop records older than the retention. compact: keep only the latest "
            "record per key (a null value deletes the key). compact,delete: both.",
            choices=("delete", "compact", "compact,delete"),
        ),
        Field(
            "retention_ms",
            "int",
            604800000,
            "retention.ms: how long records are kept under the delete policy (7 days by "
            "default). -1: forever.",
            label="Retention",
            minimum=-1,
            unit="ms",
        ),
        Field(
            "retention_bytes",
            "int",
            -1,
            "retention.bytes: the most data kept per partition before the oldest is deleted. "
            "-1: no size limit.",
            minimum=-1,
            unit="bytes",
        ),
        Field(
            "delete_retention_ms",
            "int",
            86400000,
            "Compacted topics: how long a tombstone (null value) stays readable before the "
            "key disappears.",
            label="Tombstone retention",
            minimum=0,
            unit="ms",
        ),
        Field(
            "max_message_bytes",
            "int",
            1048588,
            "max.message.bytes: the largest record batch the topic accepts; larger ones fail "
            "with RecordTooLargeException.",
            minimum=1,
            unit="bytes",
        ),
    )
    edge_fields = (
        Field(
            "consumer_group_id",
            "str",
            "",
            "group.id: consumers wired with the same group share the partitions (each record "
            "reaches one of them); different groups each get every record. Empty: a group of "
            "its own, named after the consumer.",
            label="Consumer group id",
            max_length=255,
            pattern=_GROUP_ID,
        ),
        Field(
            "auto_offset_reset",
            "choice",
            "latest",
            "Where a group with no committed offset starts: latest (only new records) or "
            "earliest (from the oldest retained record).",
            choices=("latest", "earliest"),
        ),
        Field(
            "batch_size",
            "int",
            100,
            "Most records handed to the consumer at once.",
            minimum=1,
            maximum=10000,
            unit="records",
        ),
        Field(
            "enable_auto_commit",
            "bool",
            True,
            "Commit offsets periodically (at-least-once: records processed after the last "
            "commit are read again after a crash). Off: commit after each batch succeeds.",
        ),
        Field(
            "auto_commit_interval_ms",
            "int",
            5000,
            "How often offsets are committed when auto-commit is on.",
            minimum=0,
            unit="ms",
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        if config["min_insync_replicas"] > config["replication_factor"]:
            return [("/min_insync_replicas", "must not exceed the replication factor")]
        return []


RETRY_DELAY = 1.0


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 (seed 0x9747b28c), as a signed int like the Java client's."""
    length = len(data)
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for index in range(0, length - length % 4, 4):
        k = int.from_bytes(data[index : index + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = length & ~3
    remainder = length % 4
    if remainder == 3:
        h ^= data[tail + 2] << 16
    if remainder >= 2:
        h ^= data[tail + 1] << 8
    if remainder >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - 2**32 if h >= 2**31 else h


def partition_for(key: bytes, partitions: int) -> int:
    """BuiltInPartitioner.partitionForKey: toPositive(murmur2(key)) % numPartitions."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class Group:
    """A consumer group: members (out-links) share partitions by range assignment."""

    def __init__(self, name: str, members: list[Link], partitions: int) -> None:
        self.name = name
        self.members = sorted(members, key=lambda link: link.target.id)
        self.positions: dict[int, int] = {}
        self.last_commit = 0.0
        self.assignment: dict[str, list[int]] = {}
        share, extra = divmod(partitions, len(self.members))
        start = 0
        for index, member in enumerate(self.members):
            count = share + (1 if index < extra else 0)
            self.assignment[member.id] = list(range(start, start + count))
            start += count


class KafkaTopicNode(NodeRuntime):
    """A Kafka topic: keyed records go to murmur2(key) % partitions, null keys round-robin;
    offsets count from 0 per partition; consumer groups (out-links sharing a group id) split
    the partitions and keep committed offsets in the store; different groups each read all."""

    kind = "kafka_topic"

    def setup(self) -> None:
        self.partitions = self.settings["partitions"]
        self.arn = self.engine.arn("kafka", f"topic/{self.id}")
        self._round_robin = itertools.cycle(range(self.partitions))
        self._waiters: list[asyncio.Future[None]] = []
        members: dict[str, list[Link]] = {}
        for link in self.links:
            name = link.config["consumer_group_id"] or f"{link.target.id}-group"
            members.setdefault(name, []).append(link)
        self.groups = {name: Group(name, links, self.partitions) for name, links in members.items()}
        self.group_of = {link.id: group for group in self.groups.values() for link in group.members}

    # --- producing ------------------------------------------------------------------------------
    def choose_partition(self, key: str | None, partition: int | None = None) -> int:
        if partition is not None:
            if not 0 <= partition < self.partitions:
                raise StoreError("UnknownTopicOrPartitionException", f"No partition {partition}")
            return partition
        if key is None:
            return next(self._round_robin)
        return partition_for(key.encode("utf-8"), self.partitions)

    async def produce(
        self, value: Any, key: str | None = None, *, partition: int | None = None
    ) -> tuple[int, int]:
        """Produce one record; returns (partition, offset)."""
        chosen = self.choose_partition(key, partition)
        now = self.clock.now()
        message = Message.new(value, now=now, system={"Key": key}, node=self.id)
        offsets = await self.engine.store.log_append(
            self.id, chosen, [LogRecord(0, key, value, now, (), message)]
        )
        self.stats.received += 1
        self.wake()
        return chosen, offsets[0]

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        by_partition: dict[int, list[LogRecord]] = {}
        now = self.clock.now()
        for message in messages:
            key = message.system.get("Key", message.system.get("PartitionKey"))
            if (
                body_bytes(message.body) + len(str(key or "").encode())
                > self.settings["max_message_bytes"]
            ):
                self.refuse(
                    "RecordTooLargeException",
                    "The message is larger than the max.message.bytes the topic accepts.",
                    message,
                )
                continue
            try:
                chosen = self.choose_partition(key, message.system.get("Partition"))
            except StoreError as error:
                self.refuse(error.code, error.message, message)
                continue
            stored = message.derive(self.id)
            by_partition.setdefault(chosen, []).append(
                LogRecord(0, key, stored.body, now, (), stored)
            )
        for chosen, records in by_partition.items():
            await self.engine.store.log_append(self.id, chosen, records)
            self.stats.received += len(records)
            self.note("received", [record.message for record in records if record.message])
        if by_partition:
            self.wake()

    def wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- consuming ------------------------------------------------------------------------------
    async def _trim(self, partition: int) -> None:
        retention = self.settings["retention_ms"]
        if retention >= 0:
            before = self.clock.now() - retention / 1000
            self.stats.expired += await self.engine.store.log_trim(self.id, partition, before)

    async def position(self, group: Group, partition: int, reset: str) -> int:
        """Where the group reads next: its position, else its committed offset, else the reset
        policy; an offset that retention removed resets too."""
        await self._trim(partition)
        start, end = await self.engine.store.log_bounds(self.id, partition)
        offset = group.positions.get(partition)
        if offset is None:
            offset = await self.engine.store.offset_get(self.id, group.name, partition)
        if offset is None or offset < start:
            offset = start if reset == "earliest" else end
        group.positions[partition] = offset
        return offset

    async def commit(self, group: Group) -> None:
        for partition, offset in group.positions.items():
            await self.engine.store.offset_commit(self.id, group.name, partition, offset)
        group.last_commit = self.clock.now()

    def restart(self, group_name: str) -> None:
        """A crashed consumer's replacement: positions fall back to the committed offsets."""
        self.groups[group_name].positions.clear()

    async def lag(self, group_name: str) -> dict[int, int]:
        group = self.groups[group_name]
        lags: dict[int, int] = {}
        for partition in range(self.partitions):
            _, end = await self.engine.store.log_bounds(self.id, partition)
            committed = await self.engine.store.offset_get(self.id, group.name, partition)
            lags[partition] = end - (committed or 0)
        return lags

    def tasks(self) -> list[tuple[str, TaskFactory]]:
        return [(f"consume:{link.target.id}", self._member(link)) for link in self.links]

    def _member(self, link: Link) -> TaskFactory:
        group = self.group_of[link.id]
        reset, batch_size = link.config["auto_offset_reset"], link.config["batch_size"]

        async def consume() -> None:
            loop = asyncio.get_running_loop()
            assigned = group.assignment[link.id]
            for partition in assigned:
                await self.position(group, partition, reset)
            while True:
                await self.engine.gate()
                moved = False
                for partition in assigned:
                    moved |= await self._poll(link, group, partition, reset, batch_size)
                if not moved:
                    waiter = loop.create_future()
                    self._waiters.append(waiter)
                    await waiter

        return consume

    async def _poll(
        self, link: Link, group: Group, partition: int, reset: str, batch_size: int
    ) -> bool:
        offset = await self.position(group, partition, reset)
        records = await self.engine.store.log_read(self.id, partition, offset, batch_size)
        if not records:
            return False
        messages = [record.message for record in records if record.message is not None]
        link.count += len(messages)
        self.stats.sent += len(messages)
        try:
            await link.target.accept(messages, link)
        except DeliveryFailed:
            self.stats.retries += len(messages)
            await self.clock.sleep(RETRY_DELAY)
            return True
        group.positions[partition] = records[-1].offset + 1
        interval = link.config["auto_commit_interval_ms"] / 1000
        auto = link.config["enable_auto_commit"]
        if not auto or self.clock.now() - group.last_commit >= interval:
            await self.commit(group)
        return True

    def set_partitions(self, count: int) -> None:
        """CreatePartitions: a topic grows, never shrinks; keys then map by the new count."""
        if count < self.partitions:
            raise StoreError(
                "InvalidPartitionsException",
                f"Topic currently has {self.partitions} partitions, which is higher than the "
                f"requested {count}.",
            )
        self.partitions = count
        self._round_robin = itertools.cycle(range(count))
        for name, group in list(self.groups.items()):
            fresh = Group(name, group.members, count)
            fresh.positions = group.positions
            self.groups[name] = fresh
            for member in group.members:
                self.group_of[member.id] = fresh

    async def read_compacted(self, partition: int) -> list[LogRecord]:
        """What a reader from the start sees once compaction ran (cleanup.policy compact):
        the latest record per key at its original offset; a tombstone (null value) hides its
        key once delete.retention.ms has passed."""
        if "compact" not in self.settings["cleanup_policy"]:
            raise StoreError("InvalidRequestException", "the topic is not compacted")
        start, end = await self.engine.store.log_bounds(self.id, partition)
        records = await self.engine.store.log_read(self.id, partition, start, end - start)
        latest: dict[Any, LogRecord] = {}
        for record in records:
            latest[record.key] = record
        horizon = self.clock.now() - self.settings["delete_retention_ms"] / 1000
        kept = [
            record
            for record in latest.values()
            if record.value is not None or record.timestamp > horizon
        ]
        return sorted(kept, key=lambda record: record.offset)

    def gauges(self) -> dict[str, Any]:
        return {"partitions": self.partitions, "groups": len(self.groups)}
