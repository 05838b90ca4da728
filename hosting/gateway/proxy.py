"""Lambda proxy integration: the request event (payload 1.0 and 2.0) and the response format.

Spec §7.7: a REST API sends payload 1.0; an HTTP API sends 2.0. A malformed function response
(not an object, a non-string body, unknown fields...) becomes 502 "Internal server error".
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hosting.gateway.exchange import GatewayRequest, GatewayResponse

V1_RESPONSE_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
V2_RESPONSE_KEYS = V1_RESPONSE_KEYS | {"cookies"}
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class RequestContext:
    """What the gateway knows about a request besides its HTTP parts."""

    request_id: str
    api_id: str
    account_id: str
    stage: str
    resource: str  # the route path as configured, e.g. /pets/{id}
    route_key: str
    path_parameters: Mapping[str, str]
    stage_variables: Mapping[str, str]
    api_key: str
    now: float
    domain: str = "localhost"


class MalformedResponse(ValueError):
    """The function's answer is not a valid proxy response."""


def _is_text(request: GatewayRequest) -> bool:
    content_type = request.header("content-type").lower()
    return (
        not request.body or any(content_type.startswith(t) for t in TEXT_TYPES) or not content_type
    )


def _body(request: GatewayRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if _is_text(request):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _time_text(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def event_v1(request: GatewayRequest, context: RequestContext) -> dict[str, Any]:
    """The payload 1.0 event (REST APIs)."""
    body, encoded = _body(request)
    query = request.query
    multi_query = _multi(query)
    headers = dict(request.headers)
    return {
        "resource": context.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(context.path_parameters) or None,
        "stageVariables": dict(context.stage_variables) or None,
        "requestContext": {
            "accountId": context.account_id,
            "apiId": context.api_id,
            "stage": context.stage,
            "requestId": context.request_id,
            "resourcePath": context.resource,
            "httpMethod": request.method,
            "path": f"/{context.stage}{request.path}",
            "protocol": "HTTP/1.1",
            "requestTime": _time_text(context.now),
            "requestTimeEpoch": int(context.now * 1000),
            "domainName": context.domain,
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent"),
                "apiKey": context.api_key or None,
            },
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def event_v2(request: GatewayRequest, context: RequestContext) -> dict[str, Any]:
    """The payload 2.0 event (HTTP APIs): comma-joined headers, cookies apart, rawPath."""
    body, encoded = _body(request)
    headers = {name: value for name, value in request.headers.items() if name != "cookie"}
    cookies = [c.strip() for c in request.header("cookie").split(";") if c.strip()]
    query = _multi(request.query)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": context.route_key,
        "rawPath": f"/{context.stage}{request.path}",
        "rawQueryString": request.query_string,
        "headers": headers,
        "requestContext": {
            "accountId": context.account_id,
            "apiId": context.api_id,
            "domainName": context.domain,
            "http": {
                "method": request.method,
                "path": f"/{context.stage}{request.path}",
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent"),
            },
            "requestId": context.request_id,
            "routeKey": context.route_key,
            "stage": context.stage,
            "time": _time_text(context.now),
            "timeEpoch": int(context.now * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    if context.path_parameters:
        event["pathParameters"] = dict(context.path_parameters)
    if context.stage_variables:
        event["stageVariables"] = dict(context.stage_variables)
    if body is not None:
        event["body"] = body
    return event


def response_v1(result: Any) -> GatewayResponse:
    """A payload 1.0 response; anything else raises MalformedResponse (→ 502)."""
    if isinstance(result, str):
        try:
            result = json.loads(result)
        except ValueError as error:
            raise MalformedResponse("the function returned text that is not JSON") from error
    if not isinstance(result, dict):
        raise MalformedResponse("the function must return an object with statusCode")
    unknown = set(result) - V1_RESPONSE_KEYS
    if unknown:
        raise MalformedResponse(f"unexpected fields {sorted(unknown)}")
    return _shaped_response(result)


def response_v2(result: Any) -> GatewayResponse:
    """A payload 2.0 response: the proxy shape when it has statusCode, else 200 with JSON."""
    if isinstance(result, dict) and "statusCode" in result:
        unknown = set(result) - V2_RESPONSE_KEYS
        if unknown:
            raise MalformedResponse(f"unexpected fields {sorted(unknown)}")
        response = _shaped_response(result)
        cookies = result.get("cookies")
        if cookies is not None:
            if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
                raise MalformedResponse("cookies must be a list of strings")
            if cookies:
                response.headers["set-cookie"] = ", ".join(cookies)
        return response
    if isinstance(result, str):
        return GatewayResponse(200, result.encode("utf-8"), {"content-type": "application/json"})
    return GatewayResponse.json(200, result)


def _shaped_response(result: Mapping[str, Any]) -> GatewayResponse:
    status = result.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse("statusCode must be an HTTP status")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse("body must be a string (serialise objects with JSON)")
    encoded = result.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise MalformedResponse("isBase64Encoded must be true or false")
    raw = (body or "").encode("utf-8")
    if encoded and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError as error:
            raise MalformedResponse("body is not valid base64") from error
    return GatewayResponse(status, raw, _headers(result))


def _headers(result: Mapping[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponse("headers must be objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse("multiValueHeaders values must be lists")
        headers[str(name).lower()] = ", ".join(_header_value(v) for v in values)
    for name, value in single.items():
        headers[str(name).lower()] = _header_value(value)
    return headers


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise MalformedResponse("header values must be strings")
    text = str(value)
    if "\r" in text or "\n" in text:
        raise MalformedResponse("header values must not contain line breaks")
    return text
