"""Webhook target: POSTs each message to an HTTP endpoint (through the SSRF guard)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from runtime.nodes.base import TEMPLATE_REFERENCES_HELP, Field, Kind, Problem, template_problem

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
