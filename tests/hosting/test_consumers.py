"""The live socket: who may open it, what it sends first, how it coalesces, what closes it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from designer.models import Access, Share, Topology
from hosting import supervisor as supervision
from hosting.routing import websocket_urlpatterns
from hosting.supervisor import Supervisor
from tests.builders import pipeline_document
from tests.runtime.livefakes import FakeEngine

pytestmark = pytest.mark.django_db(transaction=True)

ROUTES = URLRouter(websocket_urlpatterns)


@pytest.fixture
def chief() -> Iterator[Supervisor]:
    """A process supervisor with stand-in engines, ticking every 50 ms like the default."""
    chief = Supervisor(engine_factory=FakeEngine, on_state=None, tick=0.05)
    previous = supervision.set_supervisor(chief)
    yield chief
    chief.shutdown()
    supervision.set_supervisor(previous)


@pytest.fixture
def topology(alice: Any) -> Topology:
    return Topology.create_from_document(alice, pipeline_document())


def socket(topology_id: int, user: Any = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(ROUTES, f"/ws/topologies/{topology_id}/")
    if user is not None:
        communicator.scope["user"] = user
    return communicator


@pytest.fixture
async def opened(topology: Topology, alice: Any) -> AsyncIterator[WebsocketCommunicator]:
    communicator = socket(topology.pk, alice)
    connected, _ = await communicator.connect()
    assert connected
    yield communicator
    await communicator.disconnect()


async def test_an_anonymous_visitor_is_refused_with_4403(topology: Topology) -> None:
    from django.contrib.auth.models import AnonymousUser

    connected, code = await socket(topology.pk, AnonymousUser()).connect()
    assert (connected, code) == (False, 4403)


async def test_another_user_cannot_open_the_owners_socket(topology: Topology, carol: Any) -> None:
    connected, code = await socket(topology.pk, carol).connect()
    assert (connected, code) == (False, 4403)


async def test_a_user_the_topology_is_shared_with_for_reading_can(
    topology: Topology, bob: Any
) -> None:
    share = database_sync_to_async(Share.objects.create)
    await share(topology=topology, user=bob, access=Access.READ)
    communicator = socket(topology.pk, bob)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


async def test_an_unknown_topology_is_refused_like_a_forbidden_one(alice: Any) -> None:
    connected, code = await socket(999_999, alice).connect()
    assert (connected, code) == (False, 4403)


async def test_a_stopped_topology_sends_a_stopped_snapshot_on_connect(
    opened: WebsocketCommunicator,
) -> None:
    snapshot = json.loads(await opened.receive_from())
    assert snapshot["type"] == "snapshot" and snapshot["state"] == "stopped"
    assert snapshot["run"] is None


async def test_a_running_topology_sends_its_live_snapshot_then_frames(
    chief: Supervisor, topology: Topology, alice: Any
) -> None:
    from runtime.spec import load

    await asyncio.to_thread(chief.deploy, topology.pk, load(topology.document))
    communicator = socket(topology.pk, alice)
    assert (await communicator.connect())[0]
    snapshot = json.loads(await communicator.receive_from())
    assert snapshot["type"] == "snapshot" and snapshot["state"] == "running"
    assert set(snapshot["nodes"]) == {"orders-in", "orders", "worker", "sink"}
    await asyncio.to_thread(chief.send, topology.pk, "orders-in", {"n": 1})
    frame = json.loads(await communicator.receive_from(timeout=2))
    while not frame["nodes"]:  # a heartbeat may come first
        frame = json.loads(await communicator.receive_from(timeout=2))
    assert frame["type"] == "tick" and frame["seq"] > snapshot["seq"]
    assert frame["nodes"]["sink"]["d"] == {"in": 1}
    await communicator.disconnect()


async def test_ten_thousand_messages_in_a_second_reach_the_browser_as_about_twenty_frames(
    chief: Supervisor, topology: Topology, alice: Any
) -> None:
    from runtime.spec import load

    await asyncio.to_thread(chief.deploy, topology.pk, load(topology.document))
    communicator = socket(topology.pk, alice)
    assert (await communicator.connect())[0]
    await communicator.receive_from()  # the snapshot

    def load_for_a_second() -> None:
        for _ in range(20):
            chief.send(topology.pk, "orders-in", {"n": 1}, count=500)

    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.to_thread(load_for_a_second)
    await asyncio.sleep(0.15)
    elapsed = loop.time() - started
    frames = []
    while not await communicator.receive_nothing(timeout=0.01):
        frames.append(json.loads(await communicator.receive_from()))
    delivered = sum(f["nodes"].get("sink", {}).get("d", {}).get("in", 0) for f in frames)
    assert delivered == 10_000
    assert len(frames) <= 20 * elapsed + 2, (len(frames), elapsed)
    await communicator.disconnect()


async def test_a_client_can_ask_for_a_fresh_snapshot(opened: WebsocketCommunicator) -> None:
    await opened.receive_from()
    await opened.send_to(text_data=json.dumps({"type": "resync"}))
    assert json.loads(await opened.receive_from())["type"] == "snapshot"


async def test_an_oversized_frame_closes_the_socket_with_4009(
    opened: WebsocketCommunicator,
) -> None:
    await opened.receive_from()
    await opened.send_to(text_data="x" * 10_000)
    assert await opened.receive_output() == {"type": "websocket.close", "code": 4009}


async def test_a_client_flooding_the_socket_is_closed_with_4008(
    opened: WebsocketCommunicator,
) -> None:
    await opened.receive_from()
    for _ in range(25):
        await opened.send_to(text_data='{"type": "noop"}')
    output = await opened.receive_output()
    assert output == {"type": "websocket.close", "code": 4008}


# --- through the whole ASGI application: session auth and the Origin check -----------------------


def session_headers(user: Any, origin: str) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    return [
        (b"origin", origin.encode()),
        (b"host", b"127.0.0.1"),
        (b"cookie", f"sessionid={cookie}".encode()),
    ]


async def test_the_owner_connects_through_the_full_stack_from_the_sites_origin(
    topology: Topology, alice: Any
) -> None:
    from config.asgi import application

    headers = await database_sync_to_async(session_headers)(alice, "http://127.0.0.1")
    communicator = WebsocketCommunicator(
        application, f"/ws/topologies/{topology.pk}/", headers=headers
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused_even_with_a_valid_session(
    topology: Topology, alice: Any
) -> None:
    from config.asgi import application

    headers = await database_sync_to_async(session_headers)(alice, "https://evil.example")
    communicator = WebsocketCommunicator(
        application, f"/ws/topologies/{topology.pk}/", headers=headers
    )
    connected, _ = await communicator.connect()
    assert not connected
