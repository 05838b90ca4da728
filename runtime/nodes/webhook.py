"""Webhook target: POSTs each message to an HTTP endpoint (through the SSRF guard)."""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from runtime.events import Message
from runtime.nodes.base import TEMPLATE_REFERENCES_HELP, Field, Kind, Problem, template_problem
from runtime.nodes.behaviour import DeliveryFailed, Link, NodeRuntime
from runtime.outbound import AllowList, OutboundError, request
from runtime.templates import TemplateContext, compile_text

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Set by the HTTP client itself; a config may not override them.
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class Webhook(Kind):
    name = "webhook"
    label = "Webhook"
    group = "Targets"
    icon = "↗"
    description = "Sends each message to an HTTP(S) endpoint outside the topology."
    models = "HTTP endpoint (SNS http/https subscription, EventBridge API destination)"
    fields = (
        Field(
            "url",
            "str",
            "https://example.com/hooks/flowyard",
            "The endpoint, http:// or https://. Private, loopback and metadata addresses are "
            "refused unless allow-listed in the server settings.",
            label="URL",
            max_length=2048,
        ),
        Field(
            "method",
            "choice",
            "POST",
            "HTTP method of each delivery.",
            choices=("POST", "PUT"),
        ),
        Field(
            "headers",
            "json",
            {},
            'Extra request headers, an object of name → string, e.g. {"Authorization": '
            '"Bearer …"}. Host, Content-Length, Transfer-Encoding and Connection are set by '
            "Flowyard.",
        ),
        Field(
            "content_type",
            "str",
            "application/json",
            "Content-Type of the request body.",
            max_length=255,
        ),
        Field(
            "body_template",
            "text",
            "",
            "The request body. Empty: the message body as JSON. " + TEMPLATE_REFERENCES_HELP,
            editor="template",
            max_length=65536,
        ),
        Field(
            "timeout",
            "int",
            10,
            "How long to wait for a response before the attempt counts as failed.",
            minimum=1,
            maximum=30,
            unit="s",
        ),
        Field(
            "max_response_bytes",
            "int",
            65536,
            "Response bytes read and kept for the inspector; the rest is discarded.",
            minimum=0,
            maximum=1048576,
            unit="bytes",
        ),
        Field(
            "retries",
            "int",
            3,
            "Retries after a failed attempt (connection error, timeout or 5xx; a 4xx is not "
            "retried). SNS's default HTTP policy is 3 retries 20 s apart.",
            minimum=0,
            maximum=100,
        ),
        Field(
            "retry_delay",
            "int",
            20,
            "Wait between retries.",
            minimum=1,
            maximum=3600,
            unit="s",
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        message = url_problem(config["url"])
        if message:
            problems.append(("/url", message))
        headers = config["headers"]
        if not isinstance(headers, dict):
            problems.append(("/headers", "must be an object of name → string"))
        else:
            for name, value in headers.items():
                where = f"/headers/{name}"
                if not _HEADER_NAME.fullmatch(name):
                    problems.append((where, "is not a valid header name"))
                elif name.lower() in RESERVED_HEADERS:
                    problems.append((where, "is set by Flowyard and cannot be configured"))
                elif not isinstance(value, str) or any(c in value for c in "\r\n\0"):
                    problems.append((where, "must be a string on one line"))
        if not config["content_type"]:
            problems.append(("/content_type", "is required"))
        return problems

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        message = template_problem(config["body_template"], references=True)
        return [("/body_template", message)] if message else []


def url_problem(url: str) -> str | None:
    """Why a webhook URL is malformed (syntax only; the SSRF guard checks the address)."""
    if not url:
        return "is required"
    if any(c.isspace() for c in url):
        return "must not contain spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as error:
        return f"is not a valid URL: {error}"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry credentials; use an Authorization header"
    return None


class WebhookNode(NodeRuntime):
    """POSTs each message through the SSRF-guarded client; a failed attempt raises
    DeliveryFailed so the sender's policy (rule, topic, or this node's retries) applies."""

    kind = "webhook"
    slow = True

    def setup(self) -> None:
        template = self.settings["body_template"]
        self.render = compile_text(template) if template else None
        self.allow = AllowList.parse(self.engine.settings.allow_hosts)
        self.responses: deque[dict[str, Any]] = deque(maxlen=50)

    def own_retries(self) -> tuple[int, float] | None:
        return self.settings["retries"], float(self.settings["retry_delay"])

    def _payload(self, message: Message) -> bytes:
        if self.render is not None:
            context = TemplateContext(self.engine.rng, self.clock.now(), message=message)
            return self.render(context).encode()
        body = message.body
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        return text.encode()

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        failed: list[Message] = []
        error: OutboundError | None = None
        for message in messages:
            try:
                await self._post(message)
            except OutboundError as problem:
                error = problem
                failed.append(message)
                self.fail(problem.code, problem.message, [message])
                if problem.code == "NO_PERMISSIONS":
                    self.refuse(problem.code, problem.message, message)
        if error is not None:
            raise DeliveryFailed(
                error.code, error.message, retriable=error.retriable, failed=failed
            )

    async def _post(self, message: Message) -> None:
        settings = self.settings
        headers = {"Content-Type": settings["content_type"], **settings["headers"]}
        headers["X-Flowyard-Message-Id"] = message.id
        post = self.engine.settings.http_post or request
        response = await post(
            settings["url"],
            method=settings["method"],
            body=self._payload(message),
            headers=headers,
            timeout=float(settings["timeout"]),
            max_response_bytes=settings["max_response_bytes"],
            allow=self.allow,
            max_redirects=self.engine.settings.http_max_redirects,
        )
        self.responses.append(
            {"message_id": message.id, "status": response.status, "body": response.body[:1024]}
        )
        status = response.status
        if 200 <= status < 300:
            self.stats.acked += 1
            return
        retriable = status >= 500 or status in (408, 429)
        code = "THROTTLING" if status == 429 else "SDK_CLIENT_ERROR"
        raise OutboundError(code, f"the endpoint answered HTTP {status}", retriable=retriable)
