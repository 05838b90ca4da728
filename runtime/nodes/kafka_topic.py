"""MSK (Kafka) topic: partitions by key, offsets, consumer groups with committed offsets."""

from __future__ import annotations

from typing import Any

from runtime.nodes.base import Field, Kind, Problem

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
