"""EventBridge event bus: default or custom, the PutEvents envelope, archive and replay."""

from __future__ import annotations

from typing import Any

from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.rule import pattern_problems

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
