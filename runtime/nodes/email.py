"""Email target: renders each message into an email sent through Django's email backend."""

from __future__ import annotations

import inspect
import re
from collections import deque
from typing import Any

from runtime.events import Message
from runtime.nodes.base import TEMPLATE_REFERENCES_HELP, Field, Kind, Problem, template_problem
from runtime.nodes.behaviour import DeliveryFailed, Link, NodeRuntime
from runtime.templates import TemplateContext, compile_text

_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
MAX_RECIPIENTS = 50


def address_problem(address: Any) -> str | None:
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        return "must be an email address such as ops@example.com"
    local = address.split("@", 1)[0]
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "must not have leading, trailing or double dots before the @"
    return None


class Email(Kind):
    name = "email"
    label = "Email"
    group = "Targets"
    icon = "✉"
    description = "Sends each message as an email through the server's email backend."
    models = "SNS email subscription / Amazon SES"
    fields = (
        Field(
            "to",
            "list",
            ["ops@example.com"],
            "Recipient addresses, at most 50.",
            label="To",
            maximum=MAX_RECIPIENTS,
        ),
        Field(
            "from_address",
            "str",
            "flowyard@example.com",
            "Sender address.",
            label="From",
            max_length=254,
        ),
        Field(
            "subject",
            "str",
            "Flowyard message {{id}}",
            "Subject line, a template. " + TEMPLATE_REFERENCES_HELP,
            max_length=255,
        ),
        Field(
            "body_template",
            "text",
            "{{body}}",
            "Plain-text body, a template (same placeholders as the subject).",
            label="Body",
            editor="template",
            max_length=65536,
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        if not config["to"]:
            problems.append(("/to", "needs at least one address"))
        for index, address in enumerate(config["to"]):
            message = address_problem(address)
            if message:
                problems.append((f"/to/{index}", message))
        message = address_problem(config["from_address"])
        if message:
            problems.append(("/from_address", message))
        if any(c in config["subject"] for c in "\r\n"):
            problems.append(("/subject", "must be one line"))
        message = template_problem(config["subject"], references=True)
        if message:
            problems.append(("/subject", message))
        return problems

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        message = template_problem(config["body_template"], references=True)
        return [("/body_template", message)] if message else []


MAX_RECORDED = 1000


class EmailNode(NodeRuntime):
    """Renders each message into an email and hands it to the injected sender.

    The engine's ``email_sender`` (Django's email backend, wired at the edge) receives a dict
    with to, from, subject and body; without one the email is only recorded.
    """

    kind = "email"
    slow = True

    def setup(self) -> None:
        self.subject = compile_text(self.settings["subject"])
        self.body = compile_text(self.settings["body_template"])
        self.sent: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDED)

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        sender = self.engine.settings.email_sender
        failed: list[Message] = []
        for message in messages:
            context = TemplateContext(self.engine.rng, self.clock.now(), message=message)
            email = {
                "to": list(self.settings["to"]),
                "from": self.settings["from_address"],
                "subject": self.subject(context).replace("\r", " ").replace("\n", " "),
                "body": self.body(context),
                "message_id": message.id,
            }
            try:
                if sender is not None:
                    outcome = sender(email)
                    if inspect.isawaitable(outcome):
                        await outcome
            except Exception as error:  # noqa: BLE001 - any backend error is a failed delivery
                self.fail("SDK_CLIENT_ERROR", str(error), [message])
                failed.append(message)
                continue
            self.sent.append(email)
            self.stats.acked += 1
        if failed:
            raise DeliveryFailed("SDK_CLIENT_ERROR", "the email backend failed", failed=failed)

    def gauges(self) -> dict[str, Any]:
        return {"recorded": len(self.sent)}
