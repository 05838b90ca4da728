"""Log target: an inspectable sink that keeps the last N messages it received."""

from __future__ import annotations

from runtime.nodes.base import Field, Kind


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
