"""S1: cross-site websocket hijacking is refused on the full ASGI app (Origin checked first)."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from hosting.gateway import registry
from tests.hosting.appsync.test_api import make_api

PATHS = ("/ws/gw/posts/graphql", "/ws/topologies/1/")


async def connect(path: str, headers: list[tuple[bytes, bytes]]) -> bool:
    from config.asgi import application

    communicator = WebsocketCommunicator(
        application, path, headers=headers, subprotocols=["graphql-transport-ws"]
    )
    try:
        connected, _ = await communicator.connect(timeout=2)
    except ValueError:  # no such route: nothing to hijack
        return False
    if connected:
        await communicator.disconnect()
    return connected


@pytest.fixture(autouse=True)
def running_api() -> object:
    engine, _ = make_api()
    registry.register("posts", engine)
    yield engine
    registry.unregister("posts")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example",
        b"http://localhost.evil.example",
        b"null",
        b"http://127.0.0.1.nip.io",
    ],
)
async def test_a_foreign_origin_is_refused(path: str, origin: bytes) -> None:
    assert not await connect(path, [(b"origin", origin)])


@pytest.mark.parametrize("path", PATHS)
async def test_a_missing_origin_is_refused(path: str) -> None:
    assert not await connect(path, [])


async def test_the_same_origin_is_let_through_so_the_refusals_mean_something() -> None:
    assert await connect(PATHS[0], [(b"origin", b"http://localhost")])
