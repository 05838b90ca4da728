"""S11: an oversized websocket frame closes the socket on the live server, for the GraphQL
subscription socket and the designer's live topology socket: frames over a consumer's limit are
closed by the consumer; frames over daphne's 1 MiB are cut off by the server itself. Under daphne
an application cannot close with 1009 (autobahn allows only 1000 and 3000-4999), so both sockets
close with 4009."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import websockets

from tests.hosting.gateway.live import Deployed, deployed
from tests.hosting.gateway.live_topology import GRAPHQL_KEY

pytestmark = pytest.mark.django_db(transaction=True)

BIG = "x" * (100 * 1024)  # over both consumers' limits, under daphne's
HUGE = "x" * (2 * 1024 * 1024)  # over daphne's 1 MiB frame limit
DROPPED = -1  # the server cut the connection without a close frame


@pytest.fixture
def shop(gateway_server: str) -> Iterator[Deployed]:
    with deployed(gateway_server) as running:
        yield running


async def close_code(url: str, origin: str, frame: str, **options: object) -> int:
    # A server cutting a huge frame off may reset the TCP connection while the client is still
    # sending, or while it closes: that is a drop too, not a failure of the test's client.
    try:
        async with websockets.connect(url, origin=origin, **options) as socket:  # type: ignore[arg-type]
            first = options.get("subprotocols")
            if first:
                init = {"type": "connection_init", "payload": {"x-api-key": GRAPHQL_KEY}}
                await socket.send(json.dumps(init))
                await socket.recv()
            else:
                await asyncio.wait_for(socket.recv(), 10)  # the snapshot
            await socket.send(frame)
            while True:
                await asyncio.wait_for(socket.recv(), 10)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else DROPPED
    except ConnectionResetError:
        return DROPPED


@pytest.mark.parametrize(("frame", "codes"), [(BIG, {4009}), (HUGE, {1009, DROPPED})])
def test_an_oversized_frame_closes_the_graphql_socket(
    shop: Deployed, frame: str, codes: set[int]
) -> None:
    protocols = ["graphql-transport-ws"]
    code = asyncio.run(close_code(shop.websocket, shop.origin, frame, subprotocols=protocols))
    assert code in codes


@pytest.mark.parametrize(("frame", "codes"), [(BIG, {4009}), (HUGE, {1009, DROPPED})])
def test_an_oversized_frame_closes_the_live_topology_socket(
    shop: Deployed, frame: str, codes: set[int]
) -> None:
    url = shop.base_url.replace("http://", "ws://") + f"/ws/topologies/{shop.topology.pk}/"
    headers = {"Cookie": f"sessionid={shop.session}"}
    code = asyncio.run(close_code(url, shop.origin, frame, additional_headers=headers))
    assert code in codes
