"""GraphQL subscriptions over a websocket, protocol graphql-transport-ws (edge).

``ws/gw/<slug>/graphql``: ``connection_init`` carries the API key (``{"x-api-key": ...}``, or
``{"headers": {"x-api-key": ...}}``); then ``subscribe`` messages start subscriptions (queries and
mutations run once and complete), ``complete`` ends one, ``ping`` gets ``pong``. Protocol errors
close the socket with the protocol's codes; oversized frames close it with 4009 and more than
50 messages a second with 4008 (applications may close only with 1000 or 3000-4999). The designer's
session in the websocket scope is never read: the API key is the only credential.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from graphql import GraphQLError

from hosting.appsync import api as appsync
from hosting.appsync.schema import SchemaProblem
from hosting.gateway import registry

PROTOCOL = "graphql-transport-ws"
MAX_FRAME_BYTES = 64 * 1024
MAX_SUBSCRIPTIONS_PER_SOCKET = 20
# 1009 belongs to the protocol layer: autobahn (daphne) lets an application close only with 1000
# or 3000-4999, so an oversized message is closed with 4009 (daphne cuts frames > 1 MiB itself).
CLOSE_TOO_BIG = 4009
MAX_MESSAGES_PER_SECOND = 50  # reliability S11: a client faster than this is closed
CLOSE_FLOODING = 4008
CLOSE_BAD_MESSAGE = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SUBPROTOCOL = 4406
CLOSE_DUPLICATE = 4409
CLOSE_TOO_MANY_INITS = 4429


def api_key_of(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    headers = payload.get("headers") if isinstance(payload.get("headers"), dict) else {}
    key = payload.get("x-api-key") or payload.get("apiKey") or headers.get("x-api-key") or ""
    return key if isinstance(key, str) else ""


class GraphqlConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.api: appsync.GraphqlApi | None = None
        self.running: Any = None
        self.acknowledged = False
        self.handles: dict[str, int] = {}
        self.window = (time.monotonic(), 0)
        if PROTOCOL not in self.scope.get("subprotocols", []):
            await self.close(code=CLOSE_SUBPROTOCOL)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        self.running = await registry.find(kwargs["slug"])
        # Subscriptions need the engine in this process: not yet served by runtime workers.
        if self.running is not None and self.running.remote is None:
            try:
                self.api = appsync.api_for(self.running.engine, kwargs.get("node_id"))
            except SchemaProblem:
                self.api = None
        if self.api is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.accept(subprotocol=PROTOCOL)

    async def disconnect(self, code: int) -> None:
        if self.api is not None:
            for handle in self.handles.values():
                self.api.unsubscribe(handle)
        self.handles.clear()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(text_data.encode("utf-8")) if text_data is not None else len(bytes_data or b"")
        if size > MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        if self.flooding():
            await self.close(code=CLOSE_FLOODING)
            return
        try:
            message = json.loads(text_data or "")
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            await self.close(code=CLOSE_BAD_MESSAGE)
            return
        handler = {
            "connection_init": self.on_init,
            "ping": self.on_ping,
            "pong": self.on_pong,
            "subscribe": self.on_subscribe,
            "complete": self.on_complete,
        }.get(kind)
        if handler is None:
            await self.close(code=CLOSE_BAD_MESSAGE)
            return
        await handler(message)

    def flooding(self) -> bool:
        started, count = self.window
        now = time.monotonic()
        if now - started >= 1.0:
            started, count = now, 0
        self.window = (started, count + 1)
        return count + 1 > MAX_MESSAGES_PER_SECOND

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message, separators=(",", ":")))

    async def on_init(self, message: dict[str, Any]) -> None:
        if self.acknowledged:
            await self.close(code=CLOSE_TOO_MANY_INITS)
            return
        assert self.api is not None
        try:
            self.api.authorize(api_key_of(message.get("payload")))
        except appsync.Unauthorized:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.acknowledged = True
        await self.send_json({"type": "connection_ack"})

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def on_pong(self, message: dict[str, Any]) -> None:
        return None

    async def on_subscribe(self, message: dict[str, Any]) -> None:
        if not self.acknowledged:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        operation_id, payload = message.get("id"), message.get("payload")
        if not isinstance(operation_id, str) or not isinstance(payload, dict):
            await self.close(code=CLOSE_BAD_MESSAGE)
            return
        if operation_id in self.handles:
            await self.close(code=CLOSE_DUPLICATE)
            return
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            await self.send_error(operation_id, "variables must be an object")
            return
        if len(self.handles) >= MAX_SUBSCRIPTIONS_PER_SOCKET:
            await self.send_error(operation_id, "too many subscriptions on this socket")
            return
        await self.start(operation_id, payload, variables)

    async def start(self, operation_id: str, payload: dict[str, Any], variables: dict) -> None:
        assert self.api is not None and self.running is not None
        api, query, name = self.api, payload.get("query"), payload.get("operationName")
        try:
            _, operation = api.parse(query, name)
        except GraphQLError as error:
            await self.send_error(operation_id, error.message)
            return
        if operation.operation.value != "subscription":
            result = await self.running.run(api.execute(query, variables, name))
            await self.send_json({"id": operation_id, "type": "next", "payload": result})
            await self.send_json({"id": operation_id, "type": "complete"})
            return
        loop = asyncio.get_running_loop()

        def listener(result: dict[str, Any]) -> None:
            if operation_id in self.handles:
                frame = {"id": operation_id, "type": "next", "payload": result}
                asyncio.run_coroutine_threadsafe(self.send_json(frame), loop)

        async def register() -> int:
            return api.subscribe(query, variables, name, listener, loop)

        try:
            self.handles[operation_id] = await self.running.run(register())
        except GraphQLError as error:
            await self.send_error(operation_id, error.message)

    async def on_complete(self, message: dict[str, Any]) -> None:
        handle = self.handles.pop(str(message.get("id")), None)
        if handle is not None and self.api is not None and self.running is not None:
            api = self.api

            async def drop() -> None:
                api.unsubscribe(handle)

            await self.running.run(drop())

    async def send_error(self, operation_id: str, text: str) -> None:
        await self.send_json({"id": operation_id, "type": "error", "payload": [{"message": text}]})
