"""SMS target: renders each message into a text message that is recorded, not sent."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from runtime.events import Message
from runtime.nodes.base import TEMPLATE_REFERENCES_HELP, Field, Kind, Problem, template_problem
from runtime.nodes.behaviour import Link, NodeRuntime
from runtime.templates import TemplateContext, compile_text

_E164 = re.compile(r"\+[1-9]\d{1,14}")
MAX_SMS_CHARS = 1600


class Sms(Kind):
    name = "sms"
    label = "SMS"
    group = "Targets"
    icon = "✆"
    description = "Records each message as a text message to phone numbers (nothing is sent)."
    models = "SNS SMS / AWS End User Messaging"
    fields = (
        Field(
            "phone_numbers",
            "list",
            ["+15555550100"],
            "Recipients in E.164 form: + then the country code and number, up to 15 digits, "
            "e.g. +14155550123.",
            maximum=100,
        ),
        Field(
            "sender_id",
            "str",
            "",
            "Alphanumeric sender id shown where carriers support it: 1-11 letters and digits, "
            "at least one letter. Empty: the default sender.",
            label="Sender id",
            max_length=11,
        ),
        Field(
            "sms_type",
            "choice",
            "Transactional",
            "Transactional (critical, e.g. one-time codes) or Promotional (marketing).",
            label="SMS type",
            choices=("Transactional", "Promotional"),
        ),
        Field(
            "message_template",
            "text",
            "{{body}}",
            "The text, a template; longer messages are split into parts (up to 1,600 "
            "characters in all). " + TEMPLATE_REFERENCES_HELP,
            editor="template",
            max_length=MAX_SMS_CHARS,
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        if not config["phone_numbers"]:
            problems.append(("/phone_numbers", "needs at least one number"))
        for index, number in enumerate(config["phone_numbers"]):
            if not isinstance(number, str) or not _E164.fullmatch(number):
                problems.append(
                    (
                        f"/phone_numbers/{index}",
                        "must be E.164: + and 2-15 digits, e.g. +14155550123",
                    )
                )
        sender = config["sender_id"]
        if sender and not (
            re.fullmatch(r"[A-Za-z0-9]{1,11}", sender) and re.search(r"[A-Za-z]", sender)
        ):
            problems.append(
                ("/sender_id", "must be 1-11 letters and digits with at least one letter")
            )
        return problems

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        if not config["message_template"]:
            return [("/message_template", "is required")]
        message = template_problem(config["message_template"], references=True)
        return [("/message_template", message)] if message else []


MAX_RECORDED = 1000
SEGMENT_GSM, SEGMENT_UNICODE = 160, 70


class SmsNode(NodeRuntime):
    """Renders each message as a text and records it per recipient; nothing is sent."""

    kind = "sms"

    def setup(self) -> None:
        self.render = compile_text(self.settings["message_template"])
        self.sent: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDED)

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        for message in messages:
            context = TemplateContext(self.engine.rng, self.clock.now(), message=message)
            text = self.render(context)[:MAX_SMS_CHARS]
            per_segment = SEGMENT_GSM if text.isascii() else SEGMENT_UNICODE
            for number in self.settings["phone_numbers"]:
                self.sent.append(
                    {
                        "to": number,
                        "sender_id": self.settings["sender_id"],
                        "type": self.settings["sms_type"],
                        "text": text,
                        "segments": max(1, -(-len(text) // per_segment)),
                        "message_id": message.id,
                    }
                )
        self.stats.acked += len(messages)

    def gauges(self) -> dict[str, Any]:
        return {"recorded": len(self.sent)}
