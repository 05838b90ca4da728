"""Kinesis data stream: shards by MD5 of the partition key, retention, independent consumers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.nodes.base import Field, Kind, Problem

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
