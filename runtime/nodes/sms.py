"""SMS target: renders each message into a text message that is recorded, not sent."""

from __future__ import annotations

import re
from typing import Any

from runtime.nodes.base import TEMPLATE_REFERENCES_HELP, Field, Kind, Problem, template_problem

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
