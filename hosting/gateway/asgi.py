"""The gateway as a plain ASGI app, for mounting in front of Django.

``with_gateway(app)`` sends HTTP requests under ``/gw/`` straight to the gateway and everything
else to ``app``. The gateway then runs without Django's middleware: no session is ever loaded, no
CSRF or login check applies, no cookie can be set, and a request costs no middleware thread hops
(each sync middleware hook is a hop to Django's one sync thread). The Django views in
``hosting.gateway.views`` stay as the fallback when the project's ASGI app does not mount this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from hosting.gateway import pipeline, registry
from hosting.gateway.exchange import GatewayRequest, GatewayResponse, drop_cookies

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/gw/"
MAX_BODY_BYTES = pipeline.MAX_PAYLOAD_BYTES
_STAGE_PATH = re.compile(r"/gw/(?P<slug>[-a-zA-Z0-9_]+)/(?P<stage>[^/]+)(?:/(?P<rest>.*))?")
_GRAPHQL_PATH = re.compile(r"/gw/(?P<slug>[-a-zA-Z0-9_]+)/graphql(?:/(?P<node>[^/]+))?")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}
DESIGNER_COOKIES = frozenset({"sessionid", "csrftoken"})


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """The request body, refused as soon as it passes ``limit`` (chunked or not)."""
    limit = MAX_BODY_BYTES if limit is None else limit
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def headers_of(scope: Scope) -> dict[str, str]:
    """Lower-cased request headers; repeated ones joined; the designer's cookies removed."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    drop_cookies(headers, DESIGNER_COOKIES)
    return headers


async def respond(send: Send, response: GatewayResponse) -> None:
    headers = {**SECURITY_HEADERS, **response.headers}
    headers["content-length"] = str(len(response.body))
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": response.body})


def not_running(slug: str) -> GatewayResponse:
    # Unknown and stopped topologies answer alike, so the gateway does not reveal which exist.
    reason = f"no running topology is served at /gw/{slug}/"
    response = GatewayResponse.json(404, {"message": "Not Found", "reason": reason})
    response.headers["x-amzn-errortype"] = "NotFoundException"
    return response


async def serve_stage(scope: Scope, body: bytes, headers: dict[str, str]) -> GatewayResponse:
    match = _STAGE_PATH.fullmatch(unquote(scope["path"]))
    if match is None:
        return GatewayResponse.json(404, {"message": "Not Found"})
    running = await registry.find(match["slug"])
    if running is None:
        return not_running(match["slug"])
    client = scope.get("client") or ("", 0)
    request = GatewayRequest(
        method=scope.get("method", "GET"),
        path="/" + (match["rest"] or ""),
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
        source_ip=str(client[0]),
        stage=match["stage"],
    )
    return await registry.serve(running, match["stage"], request)


async def serve_graphql(scope: Scope, body: bytes, headers: dict[str, str]) -> GatewayResponse:
    from hosting.appsync.http import answer_graphql

    match = _GRAPHQL_PATH.fullmatch(scope["path"])
    assert match is not None
    if scope.get("method") != "POST":
        return GatewayResponse.json(405, {"message": "GraphQL requests are POSTed as JSON"})
    try:
        data = json.loads(body or b"")
    except ValueError:
        data = None
    status, answer = await answer_graphql(
        match["slug"], match["node"], data, headers.get("x-api-key", "")
    )
    return GatewayResponse.json(status, answer)


async def gateway_app(scope: Scope, receive: Receive, send: Send) -> None:
    try:
        body = await read_body(receive)
    except BodyTooLarge:
        await respond(send, GatewayResponse.gateway_error("REQUEST_TOO_LARGE"))
        return
    headers = headers_of(scope)
    if _GRAPHQL_PATH.fullmatch(scope["path"]):
        response = await serve_graphql(scope, body, headers)
    else:
        response = await serve_stage(scope, body, headers)
    await respond(send, response)


def with_gateway(app: App) -> App:
    """``app`` with HTTP requests under /gw/ served by the gateway directly."""

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith(PREFIX):
            await gateway_app(scope, receive, send)
        else:
            await app(scope, receive, send)

    return dispatch
