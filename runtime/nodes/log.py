"""Log target: an inspectable sink that keeps the last N messages it received."""

from __future__ import annotations

from collections import deque
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind
from runtime.nodes.behaviour import Link, NodeRuntime


class Log(Kind):
    name = "log"
    label = "Log"
    group = "Targets"
    icon = "☷"
    description = "Keeps the last messages it receives so you can inspect them."
    models = "CloudWatch Logs (an inspectable sink)"
    fields = (
        Field(
            "keep_last",
            "int",
            100,
            "How many of the most recent messages are kept for the inspector.",
            minimum=1,
            maximum=10000,
            unit="messages",
        ),
        Field(
            "level",
            "choice",
            "INFO",
            "Level each message is recorded at; the server log shows it at or above its own level.",
            choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        ),
        Field(
            "show",
            "choice",
            "envelope",
            "envelope: the body with id, attributes and trace; body: the body only.",
            choices=("envelope", "body"),
        ),
    )


class LogNode(NodeRuntime):
    """Keeps the last ``keep_last`` messages; ``recent()`` renders them for the inspector."""

    kind = "log"

    def setup(self) -> None:
        self.entries: deque[tuple[float, Message]] = deque(maxlen=self.settings["keep_last"])

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        now = self.clock.now()
        self.entries.extend((now, message) for message in messages)
        self.stats.acked += len(messages)

    def recent(self) -> list[Any]:
        if self.settings["show"] == "body":
            return [message.body for _, message in self.entries]
        return [
            {
                "at": at,
                "id": message.id,
                "trace_id": message.trace_id,
                "body": message.body,
                "attributes": dict(message.attributes),
                "hops": list(message.hops),
                "level": self.settings["level"],
            }
            for at, message in self.entries
        ]

    def gauges(self) -> dict[str, Any]:
        return {"kept": len(self.entries)}
