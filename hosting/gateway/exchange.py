"""The request and response the pipeline works on, free of any web framework."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

# Gateway response types (spec §7.10): status, message and the x-amzn-ErrorType header.
GATEWAY_RESPONSES: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "RESOURCE_NOT_FOUND": (404, "Not Found", "NotFoundException"),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded", "LimitExceededException"),
    "BAD_REQUEST_BODY": (400, "Invalid request body", "BadRequestException"),
    "BAD_REQUEST_PARAMETERS": (
        400,
        "Missing required request parameters",
        "BadRequestException",
    ),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLongException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
    "INTEGRATION_FAILURE": (502, "Internal server error", "InternalServerErrorException"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error", "InternalServerErrorException"),
    "NOT_IMPLEMENTED": (501, "Not Implemented", "NotImplementedException"),
    "TOPOLOGY_NOT_RUNNING": (404, "Not Found", "NotFoundException"),
}


def drop_cookies(headers: dict[str, str], names: Collection[str]) -> None:
    """Removes the named cookies from lower-cased request ``headers``; no cookie left, no header."""
    cookie = headers.pop("cookie", "")
    kept = [
        part.strip()
        for part in cookie.split(";")
        if part.strip() and part.split("=", 1)[0].strip() not in names
    ]
    if kept:
        headers["cookie"] = "; ".join(kept)


@dataclass(frozen=True)
class GatewayRequest:
    """One HTTP request as the gateway sees it; header names are lower case."""

    method: str
    path: str  # the path below the stage, starting with /
    query_string: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    stage: str = "prod"

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json_body(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body or b"null")


@dataclass
class GatewayResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Set on responses the gateway makes itself (errors): they carry no CORS headers.
    error_type: str = ""
    error_message: str = ""

    @classmethod
    def json(
        cls, status: int, data: Any, headers: Mapping[str, str] | None = None
    ) -> GatewayResponse:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, body, {"content-type": "application/json", **(headers or {})})

    @classmethod
    def gateway_error(
        cls,
        response_type: str,
        detail: Mapping[str, Any] | None = None,
        *,
        message: str = "",
    ) -> GatewayResponse:
        """The gateway response of ``response_type``; ``message`` replaces its default text."""
        status, default, error_type = GATEWAY_RESPONSES[response_type]
        message = message or default
        response = cls.json(status, {"message": message, **(detail or {})})
        response.headers["x-amzn-errortype"] = error_type
        response.error_type = response_type
        response.error_message = message
        return response
