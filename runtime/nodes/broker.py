"""Amazon MQ broker destination: a JMS queue (competing consumers) or topic (broadcast)."""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import DeliveryFailed, Link, NodeRuntime


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


MAX_DEAD_LETTERS = 10000


class BrokerNode(NodeRuntime):
    """An ActiveMQ destination with JMS semantics.

    A queue hands each message to exactly one consumer (out-links compete round-robin; a
    JMSXGroupID sticks to one consumer); a topic hands it to every subscriber. A failed delivery
    is redelivered after the redelivery delay with JMSRedelivered and JMSXDeliveryCount, and
    after ``maximum_redeliveries`` moves to the DLQ, as do messages past their TTL.
    """

    kind = "broker"

    def setup(self) -> None:
        self.is_queue = self.settings["destination_type"] == "queue"
        self.arn = self.engine.arn("mq", f"destination/{self.id}")
        self._next = itertools.cycle(range(max(1, len(self.links))))
        self.groups: dict[str, Link] = {}
        self.pending: deque[Message] = deque()  # queue messages waiting for a consumer
        self.dead_letters: deque[Message] = deque(maxlen=MAX_DEAD_LETTERS)
        self.offline: dict[str, deque[Message]] = {}  # topic subscribers not connected

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        now = self.clock.now()
        ttl = self.settings["message_ttl"] / 1000
        stored = [
            message.derive(
                self.id, system={**message.system, "JMSExpiration": now + ttl if ttl else 0}
            )
            for message in messages
        ]
        if not self.links:
            if self.is_queue:
                self.pending.extend(stored)
            return  # a topic without subscribers: nobody was active at publish time
        for message in stored:
            if self.is_queue:
                await self._dispatch(self._consumer(message), message, 1)
                continue
            for target in self.links:
                if target.target.id not in self.offline:
                    await self._dispatch(target, message, 1)
                elif self.settings["durable_subscriptions"]:
                    self.offline[target.target.id].append(message)
                else:
                    self.stats.dropped += 1  # a non-durable subscriber misses what it did not see

    def disconnect(self, consumer: str) -> None:
        """A subscriber goes away: a durable subscription keeps its messages meanwhile."""
        self.offline.setdefault(consumer, deque())

    async def reconnect(self, consumer: str) -> int:
        """The subscriber is back: a durable subscription delivers what it kept."""
        kept = self.offline.pop(consumer, deque())
        link = next(link for link in self.links if link.target.id == consumer)
        for message in kept:
            await self._dispatch(link, message, 1)
        return len(kept)

    def _consumer(self, message: Message) -> Link:
        group = message.system.get("JMSXGroupID") or message.attributes.get("JMSXGroupID")
        if group:
            chosen = self.groups.get(group)
            if chosen is None:
                chosen = self.groups[group] = self.links[next(self._next) % len(self.links)]
            return chosen
        return self.links[next(self._next) % len(self.links)]

    async def _dispatch(self, link: Link, message: Message, delivery: int) -> None:
        expires = message.system.get("JMSExpiration", 0)
        if expires and self.clock.now() >= expires:
            self._to_dead_letters(message, "Expired", "the message's time to live passed")
            return
        system = {**message.system, "JMSXDeliveryCount": delivery, "JMSRedelivered": delivery > 1}
        outgoing = message.derive(self.id, system=system) if delivery > 1 else message
        link.count += 1
        self.stats.sent += 1
        try:
            await link.target.accept([outgoing], link)
        except DeliveryFailed as error:
            self._redeliver(link, message, delivery, error)
            return
        self.stats.acked += 1

    def _redeliver(
        self, link: Link, message: Message, delivery: int, error: DeliveryFailed
    ) -> None:
        limit = self.settings["maximum_redeliveries"]
        redeliveries = delivery - 1
        if limit != -1 and redeliveries >= limit:
            self._to_dead_letters(message, error.code, error.message)
            return
        self.stats.retries += 1
        delay = (
            self.settings["initial_redelivery_delay"]
            if redeliveries == 0
            else self.settings["redelivery_delay"]
        )
        if self.settings["use_exponential_backoff"] and redeliveries:
            delay = (
                self.settings["initial_redelivery_delay"]
                * self.settings["backoff_multiplier"] ** redeliveries
            )
        self.engine.later(delay / 1000, self._dispatch, link, message, delivery + 1)

    def _to_dead_letters(self, message: Message, code: str, text: str) -> None:
        self.stats.dead_lettered += 1
        self.dead_letters.append(message)
        self.engine.dead_lettered(self, message, self.settings["dlq_name"], code, text)

    def gauges(self) -> dict[str, Any]:
        return {"depth": len(self.pending), "dlq_depth": len(self.dead_letters)}
