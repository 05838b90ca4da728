"""The gateway mounted as plain ASGI in front of Django: same answers, no middleware at all."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hosting.gateway import asgi, registry
from runtime.spec import load
from tests.hosting.appsync.test_api import KEY as GRAPHQL_KEY
from tests.hosting.appsync.test_api import make_api
from tests.hosting.gateway.conftest import FakeEngine, api_document, route


async def fallback(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"django"})


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, FakeEngine]]:
    engine = FakeEngine(
        load(
            api_document(
                [
                    route("POST", "/orders", "PutEvents", "bus"),
                    route("GET", "/echo", "Invoke", "handler"),
                ]
            )
        )
    )

    async def echo(event: dict[str, Any]) -> Any:
        return {"statusCode": 200, "body": json.dumps(event["headers"])}

    engine.function("handler", echo)
    registry.register("shop", engine)
    posts, _ = make_api()
    registry.register("posts", posts)
    transport = httpx.ASGITransport(app=asgi.with_gateway(fallback))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, engine
    registry.unregister("shop")
    registry.unregister("posts")


async def test_gateway_paths_are_served_without_django(client: Any) -> None:
    http, engine = client
    answer = await http.post("/gw/shop/prod/orders", json={"total": 1})
    assert answer.status_code == 200 and answer.json()["FailedEntryCount"] == 0
    assert engine.sent[0].body == {"total": 1}
    assert answer.headers["x-content-type-options"] == "nosniff"
    other = await http.get("/topologies/")
    assert (other.status_code, other.text) == (299, "django")


async def test_designer_cookies_are_stripped_and_none_are_set(client: Any) -> None:
    http, _ = client
    cookies = "sessionid=secret; csrftoken=bad; theme=dark"
    answer = await http.get("/gw/shop/prod/echo", headers={"cookie": cookies})
    assert answer.json()["cookie"] == "theme=dark"
    assert "set-cookie" not in answer.headers


async def test_a_body_over_the_limit_is_a_413(client: Any, monkeypatch: Any) -> None:
    http, engine = client
    monkeypatch.setattr(asgi, "MAX_BODY_BYTES", 1024)
    answer = await http.post("/gw/shop/prod/orders", content=b"x" * 2048)
    assert answer.status_code == 413 and engine.sent == []


async def test_unknown_routes_answer_like_api_gateway(client: Any) -> None:
    http, _ = client
    answer = await http.get("/gw/shop/prod/nowhere")
    assert answer.status_code == 403
    assert answer.json() == {"message": "Missing Authentication Token"}


async def test_an_unknown_topology_answers_a_clear_404(client: Any, monkeypatch: Any) -> None:
    http, _ = client
    monkeypatch.setattr(registry, "_topology_id", lambda slug: None)  # no such slug stored
    answer = await http.post("/gw/nothing-here/prod/orders", json={})
    assert answer.status_code == 404 and "no running topology" in answer.json()["reason"]


async def test_graphql_is_served_too_and_needs_the_key(client: Any) -> None:
    http, _ = client
    query = {"query": 'mutation { createPost(input: {author: "a"}) { author } }'}
    refused = await http.post("/gw/posts/graphql", json=query)
    answered = await http.post("/gw/posts/graphql", json=query, headers={"x-api-key": GRAPHQL_KEY})
    assert refused.status_code == 401
    assert answered.json() == {"data": {"createPost": {"author": "a"}}}
