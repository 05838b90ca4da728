"""S8: a second user sees and changes nothing of the first's, over HTTP and the websocket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import Resolver404

from designer.models import Access, Share, Topology
from tests.security.conftest import designer_addresses

REFUSED = {403, 404, 405}


def snapshot(topology: Topology) -> tuple[Any, ...]:
    topology.refresh_from_db()
    shares = sorted(topology.shares.values_list("user_id", "access"))
    return (
        topology.name,
        topology.version,
        json.dumps(topology.document),
        shares,
        topology.run_state,
    )


def addresses_with_ids(topology: Topology, other: Any) -> list[Any]:
    return [a for a in designer_addresses(topology, other) if f"/{topology.pk}/" in a.path]


@pytest.mark.django_db
def test_a_stranger_gets_nothing_from_any_address_of_anothers_topology(
    owned: Topology, carol: Any, bob: Any
) -> None:
    client = Client()
    client.force_login(carol)
    before = snapshot(owned)
    leaks = []
    for address in addresses_with_ids(owned, bob):
        for method in ("get", "post"):
            response = getattr(client, method)(address.path)
            if response.status_code not in REFUSED:
                leaks.append((method, address.name, response.status_code))
    assert leaks == []
    assert snapshot(owned) == before


@pytest.mark.django_db
def test_a_reader_cannot_change_a_topology_shared_with_them_for_reading(
    owned: Topology, bob: Any, carol: Any
) -> None:
    Share.objects.create(topology=owned, user=bob, access=Access.READ)
    client = Client()
    client.force_login(bob)
    before = snapshot(owned)
    for address in addresses_with_ids(owned, carol):
        client.post(address.path, {"name": "hijacked", "document": "{}"})
    assert snapshot(owned) == before


@pytest.mark.django_db
def test_the_topology_list_and_run_states_show_only_the_callers_topologies(
    owned: Topology, carol: Any
) -> None:
    client = Client()
    client.force_login(carol)
    listing = client.get("/")
    assert owned.slug not in listing.content.decode()
    states = client.get("/runs/states.json")
    if states.status_code == 200:
        assert str(owned.pk) not in json.dumps(states.json())


def websocket_route_exists(path: str) -> bool:
    from hosting.routing import websocket_urlpatterns

    for pattern in websocket_urlpatterns:
        try:
            if pattern.pattern.match(path.lstrip("/")):
                return True
        except Resolver404:
            continue
    return False


@pytest.mark.django_db(transaction=True)
async def test_a_stranger_cannot_open_the_live_socket_of_anothers_topology(
    alice: Any, carol: Any
) -> None:
    from asgiref.sync import sync_to_async

    from config.asgi import application
    from tests.security.conftest import labelled_document

    topology = await sync_to_async(Topology.create_from_document)(alice, labelled_document())
    path = f"/ws/topologies/{topology.pk}/"
    if not websocket_route_exists(path):
        pytest.skip("the live topology socket is not routed yet")
    client = Client()
    await sync_to_async(client.force_login)(carol)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"origin", b"http://localhost"), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert not connected
    owner = Client()
    await sync_to_async(owner.force_login)(alice)
    cookie = f"sessionid={owner.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected, "the owner must be let in, or the refusal above proves nothing"
    await communicator.disconnect()
