"""Amazon MQ broker destination: a JMS queue (competing consumers) or topic (broadcast)."""

from __future__ import annotations

from typing import Any

from runtime.nodes.base import Field, Kind, Problem


class Broker(Kind):
    name = "broker"
    label = "Broker"
    group = "Buffers"
    icon = "⌸"
    description = (
        "Message broker destination: a queue for competing consumers or a topic for broadcast."
    )
    models = "Amazon MQ (ActiveMQ, RabbitMQ)"
    feeds = frozenset({"function", "state_machine", "log"})
    fields = (
        Field(
            "engine",
            "choice",
            "ActiveMQ",
            "The broker engine. Both behave the same here; the engine sets the names and "
            "defaults shown and exported.",
            choices=("ActiveMQ", "RabbitMQ"),
        ),
        Field(
            "destination_type",
            "choice",
            "queue",
            "queue: each message goes to exactly one consumer (they compete). topic: each "
            "message goes to every subscriber connected when it is published.",
            choices=("queue", "topic"),
        ),
        Field(
            "durable_subscriptions",
            "bool",
            False,
            "Topics only: keep messages for subscribers while they are disconnected instead of "
            "letting them miss what was published meanwhile.",
        ),
        Field(
            "ack_mode",
            "choice",
            "AUTO_ACKNOWLEDGE",
            "How consumers acknowledge: AUTO after each message, CLIENT explicitly (an "
            "unacknowledged message is redelivered), DUPS_OK lazily (duplicates possible), "
            "SESSION_TRANSACTED by commit or rollback.",
            label="Acknowledgement mode",
            choices=(
                "AUTO_ACKNOWLEDGE",
                "CLIENT_ACKNOWLEDGE",
                "DUPS_OK_ACKNOWLEDGE",
                "SESSION_TRANSACTED",
            ),
        ),
        Field(
            "maximum_redeliveries",
            "int",
            6,
            "Redeliveries of a failed message before it moves to the dead-letter queue "
            "(ActiveMQ's default is 6). -1: redeliver forever.",
            minimum=-1,
        ),
        Field(
            "initial_redelivery_delay",
            "int",
            1000,
            "Wait before the first redelivery.",
            minimum=0,
            unit="ms",
        ),
        Field(
            "redelivery_delay",
            "int",
            1000,
            "Wait between later redeliveries (without back-off).",
            minimum=0,
            unit="ms",
        ),
        Field(
            "use_exponential_backoff",
            "bool",
            False,
            "Multiply the delay by the back-off multiplier after each redelivery.",
        ),
        Field(
            "backoff_multiplier",
            "float",
            5.0,
            "Back-off: factor applied to the delay after each redelivery.",
            minimum=1,
        ),
        Field(
            "dlq_name",
            "str",
            "ActiveMQ.DLQ",
            "Dead-letter queue for messages past their redeliveries (or expired). "
            "ActiveMQ.DLQ is ActiveMQ's shared default; DLQ.<destination> gives one per "
            "destination.",
            label="DLQ name",
            max_length=255,
            pattern=r"[A-Za-z0-9._:/-]+",
        ),
        Field(
            "message_ttl",
            "int",
            0,
            "Time to live of a message; expired messages go to the DLQ. 0: never expires.",
            label="Message TTL",
            minimum=0,
            unit="ms",
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        if config["durable_subscriptions"] and config["destination_type"] != "topic":
            problems.append(
                ("/durable_subscriptions", "applies only when destination_type is topic")
            )
        if not config["dlq_name"]:
            problems.append(("/dlq_name", "is required"))
        return problems
