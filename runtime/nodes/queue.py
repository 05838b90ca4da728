"""SQS queue: standard or FIFO, with visibility timeout, delay, retention and redrive to a DLQ."""

from __future__ import annotations

from typing import Any

from runtime.nodes.base import Field, Kind, Problem

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
