"""graphql-transport-ws over the project's full ASGI app (Origin check and auth stack included)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from hosting.appsync.consumers import MAX_FRAME_BYTES
from hosting.gateway import registry
from tests.hosting.appsync.test_api import CREATE, KEY, make_api

ORIGIN = [(b"origin", b"http://localhost")]
PROTOCOLS = ["graphql-transport-ws"]


@pytest.fixture
async def socket() -> AsyncIterator[WebsocketCommunicator]:
    from config.asgi import application

    engine, _ = make_api()
    registry.register("posts", engine)
    communicator = WebsocketCommunicator(
        application, "/ws/gw/posts/graphql", headers=ORIGIN, subprotocols=PROTOCOLS
    )
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol == "graphql-transport-ws"
    yield communicator
    await communicator.disconnect()
    registry.unregister("posts")


async def send(socket: WebsocketCommunicator, message: dict[str, Any]) -> None:
    await socket.send_to(text_data=json.dumps(message))


async def reply(socket: WebsocketCommunicator) -> dict[str, Any]:
    return json.loads(await socket.receive_from(timeout=2))


async def test_a_subscriber_with_a_key_receives_the_mutations_sent_over_the_same_socket(
    socket: WebsocketCommunicator,
) -> None:
    await send(socket, {"type": "connection_init", "payload": {"x-api-key": KEY}})
    assert await reply(socket) == {"type": "connection_ack"}
    query = "subscription { onCreatePost { author } }"
    await send(socket, {"id": "s1", "type": "subscribe", "payload": {"query": query}})
    await send(socket, {"id": "m1", "type": "subscribe", "payload": {"query": CREATE}})
    frames = [await reply(socket) for _ in range(3)]
    by_id = {(frame["id"], frame["type"]): frame for frame in frames}
    assert by_id[("s1", "next")]["payload"] == {"data": {"onCreatePost": {"author": "alice"}}}
    assert ("m1", "complete") in by_id
    await send(socket, {"type": "ping"})
    assert await reply(socket) == {"type": "pong"}


async def test_a_wrong_api_key_closes_the_socket_as_forbidden(
    socket: WebsocketCommunicator,
) -> None:
    await send(socket, {"type": "connection_init", "payload": {"x-api-key": "wrong" * 5}})
    assert await socket.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}


async def test_subscribing_before_the_connection_is_acknowledged_is_unauthorized(
    socket: WebsocketCommunicator,
) -> None:
    await send(socket, {"id": "1", "type": "subscribe", "payload": {"query": CREATE}})
    assert await socket.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}


async def test_an_oversized_frame_closes_the_socket_with_4009(
    socket: WebsocketCommunicator,
) -> None:
    await socket.send_to(text_data="x" * (MAX_FRAME_BYTES + 1))
    assert await socket.receive_output(timeout=2) == {"type": "websocket.close", "code": 4009}


async def test_a_socket_without_the_subprotocol_is_refused() -> None:
    from config.asgi import application

    engine, _ = make_api()
    registry.register("posts2", engine)
    communicator = WebsocketCommunicator(application, "/ws/gw/posts2/graphql", headers=ORIGIN)
    connected, _ = await communicator.connect()
    registry.unregister("posts2")
    assert not connected


async def test_a_client_sending_faster_than_fifty_messages_a_second_is_closed(
    socket: WebsocketCommunicator,
) -> None:
    await send(socket, {"type": "connection_init", "payload": {"x-api-key": KEY}})
    await reply(socket)
    for _ in range(60):
        await send(socket, {"type": "pong"})
    assert await socket.receive_output(timeout=2) == {"type": "websocket.close", "code": 4008}
