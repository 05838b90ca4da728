"""Access log entries (spec §7.9): one JSON-ready entry per request, a bounded ring per API node.

The keys are API Gateway's ``$context`` variable names, so the node inspector can show them as a
learner would read them in CloudWatch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

RING_SIZE = 200


class AccessLog:
    """The last ``size`` entries of one API node, oldest first."""

    def __init__(self, size: int = RING_SIZE) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)

    def write(self, entry: dict[str, Any]) -> None:
        self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def masked_key(api_key: str) -> str:
    """API keys are secrets: logs show only a recognisable prefix."""
    return f"{api_key[:4]}…" if api_key else ""


def entry(
    *,
    request_id: str,
    now: float,
    api_id: str,
    stage: str,
    method: str,
    path: str,
    resource: str,
    route_key: str,
    source_ip: str,
    user_agent: str,
    api_key: str,
    status: int,
    response_length: int,
    latency_ms: float,
    integration_latency_ms: float | None,
    integration_status: int | None,
    error_message: str,
    error_type: str,
) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now * 1000),
        "apiId": api_id,
        "stage": stage,
        "httpMethod": method,
        "path": path,
        "resourcePath": resource,
        "routeKey": route_key,
        "protocol": "HTTP/1.1",
        "identity.sourceIp": source_ip,
        "identity.userAgent": user_agent,
        "identity.apiKey": masked_key(api_key),
        "status": status,
        "responseLength": response_length,
        "responseLatency": round(latency_ms, 3),
        "integrationLatency": None
        if integration_latency_ms is None
        else round(integration_latency_ms, 3),
        "integrationStatus": integration_status,
        "error.message": error_message,
        "error.responseType": error_type,
    }


def render(entries: Iterable[dict[str, Any]], fields: Iterable[str]) -> list[dict[str, Any]]:
    """Only the chosen ``$context`` fields of each entry (a user's log format, JSON style)."""
    wanted = list(fields)
    return [{name: item.get(name) for name in wanted} for item in entries]
