"""The gateway on the live ASGI server (daphne), called with httpx and a websocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.hosting.gateway.live import Deployed, deployed, run_command
from tests.hosting.gateway.live_topology import API_KEY, GRAPHQL_KEY, ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(gateway_server: str) -> Iterator[Deployed]:
    with deployed(gateway_server) as running:
        yield running


def test_a_real_http_client_drives_every_kind_of_route(shop: Deployed) -> None:
    with httpx.Client(base_url=f"{shop.gateway}/prod", timeout=30) as client:
        entry = {"Source": "com.shop", "DetailType": "OrderPlaced", "Detail": {"total": 5}}
        put = client.post("/orders", json=entry)
        assert put.status_code == 200 and put.json()["FailedEntryCount"] == 0
        pet = client.get("/pets/42", params={"q": "x"})
        assert pet.status_code == 200 and pet.json() == {"pet": "42", "q": "x"}
        assert pet.headers["x-pet"] == "42"
        paid = client.post("/pay", json={"total": 3})
        assert paid.json()["status"] == "SUCCEEDED"
        unknown = client.get("/nowhere")
        assert unknown.status_code == 403
        assert unknown.json() == {"message": "Missing Authentication Token"}
        assert client.post("/keyed", json={}).status_code == 403
        keyed = client.post("/keyed", json={}, headers={"x-api-key": API_KEY})
        assert keyed.status_code == 200
        assert keyed.headers["x-amzn-requestid"]


def test_cors_preflight_and_headers_come_back_over_real_http(shop: Deployed) -> None:
    with httpx.Client(base_url=f"{shop.gateway}/prod", timeout=30) as client:
        preflight = client.options(
            "/orders", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        answer = client.post("/orders", json={"a": 1}, headers={"Origin": ORIGIN})
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        refused = client.post("/keyed", json={}, headers={"Origin": ORIGIN})
        assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers


def test_the_designer_session_and_csrf_play_no_part_in_gateway_calls(shop: Deployed) -> None:
    cookies = {"sessionid": shop.session, "csrftoken": "not-checked"}
    with httpx.Client(base_url=shop.gateway, cookies=cookies, timeout=30) as client:
        answer = client.post("/prod/orders", json={"a": 1})
        assert answer.status_code == 200 and "set-cookie" not in answer.headers
        keyed = client.post("/prod/keyed", json={})
        assert keyed.status_code == 403  # a logged-in browser is no API key


def test_a_chunked_body_over_the_limit_is_refused_with_413(shop: Deployed) -> None:
    def chunks() -> Iterator[bytes]:
        # Past API Gateway's 10 MB payload limit, sent without a Content-Length.
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    with httpx.Client(base_url=f"{shop.gateway}/prod", timeout=30) as client:
        answer = client.post("/orders", content=chunks())
    assert answer.status_code == 413


def test_a_stopped_topology_answers_a_clear_404(gateway_server: str) -> None:
    with deployed(gateway_server) as shop:
        run_command(shop.base_url, shop.session, shop.topology, "stop")
        answer = httpx.post(f"{shop.gateway}/prod/orders", json={}, timeout=30)
    assert answer.status_code == 404 and "no running topology" in answer.json()["reason"]


async def subscribe_and_mutate(shop: Deployed) -> list[dict[str, object]]:
    received: list[dict[str, object]] = []
    async with websockets.connect(
        shop.websocket, subprotocols=["graphql-transport-ws"], origin=shop.origin
    ) as socket:
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"x-api-key": GRAPHQL_KEY}})
        )
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}
        query = 'subscription { onCreatePost(author: "alice") { id author title } }'
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient(timeout=30) as client:
            for author in ("bob", "alice"):
                mutation = (
                    f'mutation {{ createPost(author: "{author}", title: "t") {{ id author }} }}'
                )
                answer = await client.post(
                    f"{shop.gateway}/graphql",
                    json={"query": mutation},
                    headers={"x-api-key": GRAPHQL_KEY},
                )
                assert answer.status_code == 200, answer.text
        received.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
        with contextlib.suppress(TimeoutError):
            received.append(json.loads(await asyncio.wait_for(socket.recv(), 0.5)))
    return received


def test_a_graphql_client_subscribes_over_a_real_websocket_and_gets_only_its_posts(
    shop: Deployed,
) -> None:
    received = asyncio.run(subscribe_and_mutate(shop))
    assert len(received) == 1
    post = received[0]["payload"]["data"]["onCreatePost"]  # type: ignore[index]
    assert post["author"] == "alice" and post["title"] is None and post["id"]


def test_graphql_over_http_needs_the_api_key(shop: Deployed) -> None:
    answer = httpx.post(f"{shop.gateway}/graphql", json={"query": "{ post(id: 1) { id } }"})
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["errorType"] == "UnauthorizedException"


def test_route_changes_are_invisible_until_the_topology_is_redeployed(shop: Deployed) -> None:
    topology = shop.topology
    topology.refresh_from_db()
    document = topology.document
    api = next(node for node in document["nodes"] if node["id"] == "shop-api")
    api["config"]["routes"].append(
        {
            "method": "GET",
            "path": "/new",
            "integration": {"action": "PutEvents", "target": "shop-bus"},
        }
    )
    topology.save_document(document, base_version=topology.version, author=topology.owner)
    before = httpx.get(f"{shop.gateway}/prod/new", timeout=30)
    run_command(shop.base_url, shop.session, topology, "redeploy")
    after = httpx.get(f"{shop.gateway}/prod/new", timeout=30)
    assert before.status_code == 403  # the running deployment does not have the route yet
    assert after.status_code == 200
