"""Producer: emits events by hand, on a schedule or as steady load, from a templated sample."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from runtime.events import Message, _new_tuple, freeze
from runtime.nodes.base import (
    TEMPLATE_GENERATORS_HELP,
    Field,
    Kind,
    Problem,
    json_strings,
    template_problem,
)
from runtime.nodes.behaviour import Link, NodeRuntime, TaskFactory
from runtime.nodes.rule import run_schedule, schedule_problem
from runtime.templates import TemplateContext, compile_json, compile_text

MAX_ATTRIBUTES = 10  # SQS user message attributes per message
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
# SQS MessageGroupId: alphanumerics and punctuation (semantics §1.9).
_GROUP_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")


def attribute_problems(attributes: Any, pointer: str) -> list[Problem]:
    """Message attributes as SQS/SNS accept them: ≤10 names to non-empty strings or numbers."""
    if not isinstance(attributes, dict):
        return [(pointer, "must be an object of name → value")]
    problems: list[Problem] = []
    if len(attributes) > MAX_ATTRIBUTES:
        problems.append((pointer, f"must have at most {MAX_ATTRIBUTES} attributes"))
    for name, value in attributes.items():
        where = f"{pointer}/{name}"
        if len(name) > 256 or not _ATTRIBUTE_NAME.fullmatch(name):
            problems.append(
                (
                    where,
                    "names are 1-256 of A-Z a-z 0-9 _ - . without leading, trailing or double dots",
                )
            )
        elif name.lower().startswith(("aws.", "amazon.")):
            problems.append((where, "names must not start with AWS. or Amazon."))
        elif isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            problems.append((where, "must be a non-empty string or a number"))
    return problems


class Producer(Kind):
    name = "producer"
    label = "Producer"
    group = "Producers"
    icon = "▶"
    description = (
        "Emits events on demand, on a schedule or as steady load, from a templated sample."
    )
    models = "any event source"
    has_input = False
    feeds = frozenset(
        {
            "event_bus",
            "queue",
            "topic",
            "stream",
            "kafka_topic",
            "broker",
            "function",
            "state_machine",
        }
    )
    fields = (
        Field(
            "mode",
            "choice",
            "manual",
            "manual: one event each time you press Send; schedule: one event per tick of the "
            "schedule expression; load: a steady rate for a fixed duration after deploy.",
            choices=("manual", "schedule", "load"),
        ),
        Field(
            "body",
            "json",
            {"order_id": "{{uuid}}", "seq": "{{n}}", "status": "{{choice placed|paid|shipped}}"},
            "The event body, a JSON sample. Strings may hold placeholders: "
            + TEMPLATE_GENERATORS_HELP
            + " A string that is exactly one {{n}} or {{int a b}} becomes a number.",
            editor="template",
        ),
        Field(
            "attributes",
            "json",
            {},
            "Message attributes sent with each event (queues, topics, brokers): an object of "
            "name → string or number, at most 10. Values may use the same placeholders.",
        ),
        Field(
            "schedule",
            "str",
            "rate(1 minute)",
            "schedule mode: rate(5 minutes) or cron(0 12 * * ? *) as in EventBridge (UTC, "
            "at most once a minute).",
            label="Schedule expression",
            max_length=256,
        ),
        Field(
            "rate",
            "float",
            10.0,
            "load mode: events per second.",
            minimum=0.01,
            maximum=100000,
            unit="events/s",
        ),
        Field(
            "duration",
            "int",
            60,
            "load mode: how long the load runs after deploy.",
            minimum=1,
            maximum=86400,
            unit="s",
        ),
        Field(
            "source",
            "str",
            "flowyard.producer",
            "Event buses: the event's source field. Customer events must not start with aws.",
            max_length=256,
        ),
        Field(
            "detail_type",
            "str",
            "Sample Event",
            "Event buses: the event's detail-type field, e.g. Order Placed.",
            label="Detail type",
            max_length=128,
        ),
        Field(
            "message_group_id",
            "str",
            "",
            "FIFO queues and topics: the message group (strict order within a group). May use "
            "placeholders, e.g. customer-{{int 1 5}}. Required when a FIFO target is wired.",
            label="Message group id",
            max_length=128,
        ),
        Field(
            "partition_key",
            "str",
            "",
            "Streams and Kafka topics: the partition key (1-256 characters; equal keys keep "
            "their order). May use placeholders. Empty: a random UUID per event.",
            max_length=256,
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        problems.extend(attribute_problems(config["attributes"], "/attributes"))
        if not problems:
            for pointer, text in json_strings(config["attributes"], "/attributes"):
                message = template_problem(text, generators=True)
                if message:
                    problems.append((pointer, message))
        if config["mode"] == "schedule" or config["schedule"]:
            if not config["schedule"]:
                problems.append(("/schedule", "schedule mode needs a schedule expression"))
            else:
                message = schedule_problem(config["schedule"])
                if message:
                    problems.append(("/schedule", message))
        if not config["source"]:
            problems.append(("/source", "is required"))
        elif config["source"].startswith("aws."):
            problems.append(("/source", "must not start with aws. (reserved for AWS services)"))
        if not config["detail_type"]:
            problems.append(("/detail_type", "is required"))
        for name in ("message_group_id", "partition_key"):
            message = template_problem(config[name], generators=True)
            if message:
                problems.append((f"/{name}", message))
        group = config["message_group_id"]
        if group and "{{" not in group and not _GROUP_ID.fullmatch(group):
            problems.append(
                ("/message_group_id", "may hold only letters, digits and ASCII punctuation")
            )
        return problems

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        for pointer, text in json_strings(config["body"], "/body"):
            message = template_problem(text, generators=True)
            if message:
                problems.append((pointer, message))
        return problems


MAX_BATCH = 1000  # load mode hands messages on in batches of at most this many


class ProducerNode(NodeRuntime):
    """Emits rendered samples: on Send, on a schedule, or as load (N/s for M s).

    Each event renders the body, attributes, group id and partition key templates with one
    shared counter ``{{n}}``; event-bus targets read Source and DetailType from the system map.
    """

    kind = "producer"
    has_system_for_bus = True

    def setup(self) -> None:
        settings = self.settings
        self.counter = 0
        self.render_body = compile_json(settings["body"])
        self.render_attributes = compile_json(settings["attributes"])
        self.render_group = compile_text(settings["message_group_id"])
        self.render_key = compile_text(settings["partition_key"])
        self.static_system = freeze(self.base_system())
        self.dynamic_system = bool(settings["message_group_id"] or settings["partition_key"])
        self.static_sample = not settings["attributes"] and "{{" not in json.dumps(settings["body"])
        self.sample = settings["body"]

    def base_system(self) -> dict[str, Any]:
        return {"Source": self.settings["source"], "DetailType": self.settings["detail_type"]}

    def tasks(self) -> list[tuple[str, TaskFactory]]:
        mode = self.settings["mode"]
        if mode == "load":
            return [("load", self._load)]
        if mode == "schedule":
            return [("schedule", self._schedule)]
        return []

    def make(
        self,
        body: Any = ...,
        attributes: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> Message:
        """One event: the given body or the rendered sample."""
        self.counter += 1
        now = self.clock.now() if now is None else now
        system = self.static_system
        if self.static_sample and not self.dynamic_system:
            context = None  # nothing to render: the sample is shared as it is
        else:
            context = TemplateContext(self.engine.rng, now, n=self.counter)
        if self.dynamic_system:
            group = self.render_group(context) if self.settings["message_group_id"] else ""
            key = self.render_key(context) if self.settings["partition_key"] else ""
            system = {**system, "MessageGroupId": group or None, "PartitionKey": key or None}
            system = {name: value for name, value in system.items() if value is not None}
        if attributes is None and self.settings["attributes"] and context is not None:
            attributes = self.render_attributes(context)
        identifier = self.engine.new_id()
        return _new_tuple(  # the envelope built without the NamedTuple constructor's frame
            Message,
            (
                identifier,
                identifier,
                body
                if body is not ...
                else (self.sample if context is None else self.render_body(context)),
                freeze(attributes),
                now,
                (self.id,),
                freeze(system),
                False,
                -1,
            ),
        )

    async def emit(self, count: int = 1) -> int:
        """Render and send ``count`` events in batches; returns how many were sent."""
        sent = 0
        while sent < count:
            size = min(MAX_BATCH, count - sent)
            now = self.clock.now()
            make = self.make
            batch = [make(now=now) for _ in range(size)]
            self.note_received(batch)
            await self.send_on(batch)
            sent += size
        return sent

    async def inject(
        self,
        body: Any,
        attributes: Mapping[str, Any] | None = None,
        system: Mapping[str, Any] | None = None,
    ) -> Message:
        message = self.make(... if body is None else body, attributes)
        if system:
            message = Message.new(
                message.body,
                now=message.created_at,
                attributes=message.attributes,
                system={**message.system, **system},
                node=self.id,
                message_id=message.id,
            )
        message = message.traced_copy()
        self.engine.begin_trace(message)
        self.stats.received += 1
        self.note("received", [message])
        await self.send_on([message])
        return message

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        await self.send_on(messages)

    async def _load(self) -> None:
        rate, total = self.settings["rate"], int(self.settings["rate"] * self.settings["duration"])
        start = self.clock.now()
        emitted = 0
        while emitted < total:
            await self.engine.gate()
            # A microsecond of tolerance: epoch-sized floats are only exact to ~0.2 µs, and
            # without it the loop could wake at its deadline and find nothing due.
            elapsed = self.clock.now() - start + 1e-6
            due = min(total, int(elapsed * rate) + 1)
            if due > emitted:
                await self.emit(due - emitted)
                emitted = due
            wait = start + emitted / rate - self.clock.now()
            await self.clock.sleep(max(wait, 1e-6))

    async def _schedule(self) -> None:
        await run_schedule(self, self.settings["schedule"], lambda when: self.emit(1))

    def gauges(self) -> dict[str, Any]:
        return {"emitted": self.counter}
