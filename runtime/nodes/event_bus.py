"""EventBridge event bus: default or custom, the PutEvents envelope, archive and replay."""

from __future__ import annotations

from collections import deque
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import Link, NodeRuntime, body_bytes, parse_json_body
from runtime.nodes.rule import pattern_problems
from runtime.templates import iso_time

MAX_RULES = 300  # per bus, AWS default quota


class EventBus(Kind):
    name = "event_bus"
    label = "Event bus"
    group = "Routing"
    icon = "⇶"
    description = "EventBridge bus: receives events and offers each to every rule wired to it."
    models = "Amazon EventBridge event bus"
    feeds = frozenset({"rule"})
    fields = (
        Field(
            "bus_name",
            "str",
            "default",
            "default: the account's bus, where AWS service events and scheduled rules live. "
            "Any other name makes a custom bus (letters, digits and / . - _). Partner buses are "
            "named aws.partner/<partner>/<source>.",
            max_length=256,
            pattern=r"[/\.\-_A-Za-z0-9]+",
        ),
        Field(
            "max_event_size",
            "int",
            1048576,
            "Largest accepted entry: UTF-8 bytes of source, detail-type, detail and resources "
            "(+14 when time is set). 1 MiB since January 2026; set 262144 for the former "
            "256 KiB limit.",
            minimum=1,
            maximum=1048576,
            unit="bytes",
        ),
        Field(
            "archive_enabled",
            "bool",
            False,
            "Keep a copy of the events put on this bus so they can be replayed later "
            "(replayed events carry replay-name and are not archived again).",
            label="Archive",
        ),
        Field(
            "archive_pattern",
            "json",
            None,
            "Archive only events matching this event pattern. null: archive every event.",
            editor="pattern",
        ),
        Field(
            "archive_retention_days",
            "int",
            0,
            "How long archived events are kept. 0: indefinitely.",
            minimum=0,
            unit="days",
        ),
        Field(
            "archive_max_events",
            "int",
            10000,
            "Flowyard bound on archived events kept in memory; the oldest are dropped first.",
            minimum=1,
            maximum=1000000,
            unit="events",
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        name = config["bus_name"]
        if not name:
            problems.append(("/bus_name", "is required"))
        elif name.startswith("aws.") and not name.startswith("aws.partner/"):
            problems.append(
                ("/bus_name", "names starting with aws. are reserved for partner buses")
            )
        return problems

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        pattern = config["archive_pattern"]
        return [] if pattern is None else pattern_problems(pattern, "/archive_pattern")


MAX_ENTRIES = 10  # PutEvents entries per call
ENVELOPE_BYTES = 150  # keys, account, region, time and id of an event, at the least
MAX_LONG = 2**63 - 1


class EntryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def _too_big_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -MAX_LONG - 1 <= value <= MAX_LONG
    if isinstance(value, dict):
        return any(_too_big_integer(item) for item in value.values())
    if isinstance(value, list):
        return any(_too_big_integer(item) for item in value)
    return False


class EventBusNode(NodeRuntime):
    """PutEvents: validates each entry, wraps it in the event envelope and offers the event to
    every rule. Events from a rule or another bus are re-injected as they are (id kept). Keeps a
    bounded archive and replays a time window to all or some rules with ``replay-name``."""

    kind = "event_bus"

    def setup(self) -> None:
        settings = self.settings
        self.name = settings["bus_name"]
        self.arn = self.engine.arn("events", f"event-bus/{self.name}")
        self.partner = self.name.startswith("aws.partner/")
        self.archive: deque[tuple[float, dict[str, Any]]] = deque(
            maxlen=settings["archive_max_events"]
        )
        self.archive_pattern: Any = None
        if settings["archive_enabled"] and settings["archive_pattern"] is not None:
            from runtime.patterns import compile_pattern

            self.archive_pattern = compile_pattern(settings["archive_pattern"])
        self.replays: dict[str, dict[str, Any]] = {}
        self._second = -1
        self._time = ""
        self._checked_detail: Any = None
        self.account, self.region = self.engine.settings.account, self.engine.settings.region
        self._checked_size = 0

    def _now_text(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second, self._time = second, iso_time(second)
        return self._time

    # --- PutEvents ------------------------------------------------------------------------------
    async def accept(self, messages: list[Message], link: Link | None) -> None:
        events: list[Message] = []
        now = self.clock.now()
        relayed = link is not None and link.source.kind in ("rule", "event_bus")
        fast = self._fast_event
        for message in messages:
            body = message.body
            event = fast(message, now) if not relayed else None
            if event is not None:
                hint = self._checked_size + ENVELOPE_BYTES
                events.append(
                    message.derive(self.id, body=event, message_id=event["id"], size=hint)
                )
                continue
            if relayed and isinstance(body, dict) and "detail-type" in body and "id" in body:
                events.append(message.derive(self.id))  # bus-to-bus: the same event
                continue
            if isinstance(body, dict) and isinstance(body.get("Entries"), list):
                entries = body["Entries"]
                if not 1 <= len(entries) <= MAX_ENTRIES:
                    self.refuse(
                        "ValidationException",
                        "1 validation error detected: Value at 'entries' failed to satisfy "
                        "constraint: Member must have length less than or equal to 10",
                        message,
                    )
                    continue
            else:
                entries = [self._entry_from_message(message)]
            for entry in entries:
                try:
                    event = self._event(entry, now, link)
                except EntryError as error:
                    self.refuse(error.code, error.message, message)
                    continue
                # A lower bound of the event's JSON size, so queues skip re-measuring it.
                hint = self._last_size + ENVELOPE_BYTES
                events.append(
                    message.derive(self.id, body=event, message_id=event["id"], size=hint)
                )
        if events:
            self.note_received(events)
            await self.route(events)

    def _fast_event(self, message: Message, now: float) -> dict[str, Any] | None:
        """The common case (a producer's event: Source and DetailType beside a detail object
        already validated once) without building an entry; None sends it the long way."""
        system = message.system
        detail = message.body
        if detail is not self._checked_detail or not system or "Time" in system:
            return None
        source, detail_type = system.get("Source"), system.get("DetailType")
        if not source or not detail_type or "Resources" in system or source.startswith("aws."):
            return None
        size = self._checked_size + len(source.encode()) + len(detail_type.encode())
        if size > self.settings["max_event_size"]:
            return None
        second = int(now)
        if second != self._second:
            self._second, self._time = second, iso_time(second)
        return {
            "version": "0",
            "id": self.engine.new_id(),
            "detail-type": detail_type,
            "source": source,
            "account": self.account,
            "time": self._time,
            "region": self.region,
            "resources": [],
            "detail": detail,
        }

    def _entry_from_message(self, message: Message) -> dict[str, Any]:
        body, system = message.body, message.system
        if isinstance(body, dict) and ("Source" in body or "DetailType" in body):
            return body
        if isinstance(body, dict) and "source" in body and "detail-type" in body:
            return {
                "Source": body["source"],
                "DetailType": body["detail-type"],
                "Detail": body.get("detail", {}),
                "Resources": body.get("resources", []),
            }
        return {
            "Source": system.get("Source"),
            "DetailType": system.get("DetailType"),
            "Detail": body,
            "Resources": system.get("Resources", []),
            "Time": system.get("Time"),
        }

    def _event(self, entry: Any, now: float, link: Link | None) -> dict[str, Any]:
        if not isinstance(entry, dict):
            raise EntryError("ValidationException", "Each entry must be an object.")
        source, detail_type = entry.get("Source"), entry.get("DetailType")
        detail, resources = entry.get("Detail"), entry.get("Resources") or []
        if not source:
            raise EntryError(
                "InvalidArgument",
                "Parameter Source is not valid. Reason: Source is a required argument.",
            )
        if not detail_type:
            raise EntryError(
                "InvalidArgument",
                "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
            )
        if detail is None:
            raise EntryError(
                "InvalidArgument",
                "Parameter Detail is not valid. Reason: Detail is a required argument.",
            )
        if isinstance(detail, str):
            detail = parse_json_body(detail)
        if detail is self._checked_detail:
            detail_size = self._checked_size  # bodies are immutable: one check per object
        else:
            if not isinstance(detail, dict) or _too_big_integer(detail):
                raise EntryError("MalformedDetail", "Detail is malformed.")
            detail_size = body_bytes(detail)
            self._checked_detail, self._checked_size = detail, detail_size
        from_partner = link is not None and link.source.kind == "partner_source"
        if str(source).startswith("aws.") and not (self.partner or from_partner):
            raise EntryError("NotAuthorizedForSourceException", "Not authorized for the source.")
        size = len(str(source).encode()) + len(str(detail_type).encode())
        size += detail_size
        size += sum(len(str(resource).encode()) for resource in resources)
        size += 14 if entry.get("Time") else 0
        self._last_size = size
        if size > self.settings["max_event_size"]:
            raise EntryError(
                "ValidationException", "Total size of the entries in the request is over the limit."
            )
        return {
            "version": "0",
            "id": self.engine.new_id(),
            "detail-type": detail_type,
            "source": source,
            "account": self.engine.settings.account,
            "time": entry.get("Time") or self._now_text(now),
            "region": self.engine.settings.region,
            "resources": list(resources),
            "detail": detail,
        }

    async def route(self, events: list[Message], rules: set[str] | None = None) -> None:
        if self.settings["archive_enabled"]:
            self._archive(events)
        for link in self.links:
            if rules is None or link.target.id in rules:
                await self.deliver(link, events)

    # --- archive and replay ---------------------------------------------------------------------
    def _archive(self, events: list[Message]) -> None:
        now = self.clock.now()
        for event in events:
            body = event.body
            if "replay-name" in body:
                continue  # replayed events are not archived again
            if self.archive_pattern is None or self.archive_pattern.matches(body):
                self.archive.append((now, body))
        days = self.settings["archive_retention_days"]
        if days:
            cutoff = now - days * 86400
            while self.archive and self.archive[0][0] < cutoff:
                self.archive.popleft()

    async def replay(
        self,
        name: str,
        start: float,
        end: float,
        *,
        destination: str | None = None,
        rules: set[str] | None = None,
    ) -> int:
        """StartReplay of this bus's archive to this bus; returns how many events were replayed."""
        if name in self.replays:
            raise EntryError("ResourceAlreadyExistsException", f"Replay {name} already exists.")
        if destination not in (None, self.id, self.arn):
            raise EntryError(
                "ValidationException",
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not "
                "permitted.",
            )
        if start >= end:
            raise EntryError(
                "ValidationException",
                "Parameter EventStartTime is not valid. Reason: EventStartTime must be before "
                "EventEndTime.",
            )
        record = {"state": "RUNNING", "replayed": 0, "last": None}
        self.replays[name] = record
        chosen = [(at, body) for at, body in self.archive if start <= at <= end]
        messages = [
            Message.new(
                {**body, "replay-name": name},
                now=self.clock.now(),
                node=self.id,
                message_id=body["id"],
            )
            for _, body in chosen
        ]
        if messages:
            self.note_received(messages)
            await self.route(messages, rules)
        record.update(
            state="COMPLETED", replayed=len(messages), last=chosen[-1][0] if chosen else None
        )
        return len(messages)

    def gauges(self) -> dict[str, Any]:
        return {"archived": len(self.archive)} if self.settings["archive_enabled"] else {}
