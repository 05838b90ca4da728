"""AppSync conformance (spec §8.2) through the GraphqlApi with a recording engine."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hosting.appsync.api import GraphqlApi, Unauthorized, api_for
from runtime.spec import SCHEMA, load
from tests.hosting.gateway.conftest import FakeEngine

KEY = "g" * 24
SDL = """
type Post { id: ID! author: String title: String }
input PostInput { author: String title: String }
type Query { post(id: ID!): Post }
type Mutation {
  createPost(input: PostInput!): Post
  updatePost(id: ID!, title: String): Post
}
type Subscription {
  onCreatePost(author: String): Post @aws_subscribe(mutations: ["createPost"])
}
"""


def make_api(**config: Any) -> tuple[FakeEngine, GraphqlApi]:
    nodes = [
        {
            "id": "posts-api",
            "kind": "graphql_api",
            "label": "Posts",
            "x": 0,
            "y": 0,
            "config": {
                "schema": SDL,
                "api_keys": [KEY],
                "mutations": [{"mutation": "createPost", "target": "posts-bus"}],
                **config,
            },
        },
        {"id": "posts-bus", "kind": "event_bus", "label": "b", "x": 0, "y": 0, "config": {}},
    ]
    engine = FakeEngine(load({"schema": SCHEMA, "name": "p", "nodes": nodes, "edges": []}))
    api = api_for(engine)
    assert api is not None
    return engine, api


CREATE = 'mutation { createPost(input: {author: "alice", title: "Hi"}) { id author } }'
ON_CREATE = "subscription S($a: String) { onCreatePost(author: $a) { id author title } }"


async def collect(api: GraphqlApi, variables: dict[str, Any] | None = None) -> list[Any]:
    received: list[Any] = []
    api.subscribe(ON_CREATE, variables, None, received.append, asyncio.get_running_loop())
    return received


async def test_a_mutation_publishes_its_arguments_to_the_mapped_node() -> None:
    engine, api = make_api()
    result = await api.execute(CREATE, None, None)
    assert result["data"]["createPost"]["author"] == "alice"
    sent = engine.sent[0]
    assert sent.node == "posts-bus" and sent.body["title"] == "Hi"
    assert dict(sent.system) == {"Source": "flowyard.posts-api", "DetailType": "createPost"}


async def test_a_subscription_gets_the_mutation_selection_and_unselected_fields_are_null() -> None:
    _, api = make_api()
    received = await collect(api)
    await api.execute(CREATE, None, None)
    await asyncio.sleep(0)
    assert received == [
        {
            "data": {
                "onCreatePost": {
                    "id": received[0]["data"]["onCreatePost"]["id"],
                    "author": "alice",
                    "title": None,
                }
            }
        }
    ]


async def test_subscription_arguments_filter_by_equality() -> None:
    _, api = make_api()
    for_bob = await collect(api, {"a": "bob"})
    for_alice = await collect(api, {"a": "alice"})
    await api.execute(CREATE, None, None)
    await asyncio.sleep(0)
    assert for_bob == [] and len(for_alice) == 1


async def test_only_the_named_mutations_trigger_a_subscription() -> None:
    engine, api = make_api()
    received = await collect(api)
    await api.execute('mutation { updatePost(id: "1", title: "x") { id } }', None, None)
    await asyncio.sleep(0)
    assert received == [] and engine.sent == []  # updatePost is unmapped: resolved locally


async def test_a_query_resolves_locally_to_null() -> None:
    _, api = make_api()
    assert await api.execute('{ post(id: "1") { id } }', None, None) == {"data": {"post": None}}


async def test_an_invalid_query_is_an_error_naming_the_problem() -> None:
    _, api = make_api()
    result = await api.execute("{ nope }", None, None)
    assert result["data"] is None and "nope" in result["errors"][0]["message"]


async def test_a_giant_query_is_refused_before_it_is_parsed() -> None:
    _, api = make_api()
    query = "{ " + "post(id: 1) { id } " * 5000 + "}"
    result = await api.execute(query, None, None)
    assert result["errors"]


def test_api_key_mode_refuses_a_missing_or_wrong_key() -> None:
    _, api = make_api()
    api.authorize(KEY)
    for wrong in ("", "x" * 24):
        with pytest.raises(Unauthorized):
            api.authorize(wrong)
