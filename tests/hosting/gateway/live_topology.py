"""The topology the live-server tests deploy: a REST API, a GraphQL API and what they feed."""

from __future__ import annotations

from typing import Any

from runtime.spec import SCHEMA

API_KEY = "live-test-key-0123456789"
GRAPHQL_KEY = "graphql-test-key-0123456789"
ORIGIN = "https://shop.example"
PETS_PROXY = '{"statusCode": 200, "headers": {"x-pet": pathParameters.id}, "body": $string({"pet": pathParameters.id, "q": queryStringParameters.q})}'  # noqa: E501
POSTS_SDL = """
type Post { id: ID! author: String title: String }
type Query { post(id: ID!): Post }
type Mutation { createPost(author: String!, title: String): Post }
type Subscription {
  onCreatePost(author: String): Post @aws_subscribe(mutations: ["createPost"])
}
"""


def _node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "label": node_id, "x": 0, "y": 0, "config": config}


def _edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "config": {}}


def live_document(name: str = "Live shop") -> dict[str, Any]:
    routes = [
        {
            "method": "POST",
            "path": "/orders",
            "integration": {"action": "PutEvents", "target": "shop-bus"},
        },
        {
            "method": "GET",
            "path": "/pets/{id}",
            "integration": {"action": "Invoke", "target": "pets-fn"},
        },
        {
            "method": "POST",
            "path": "/pay",
            "integration": {"action": "StartSyncExecution", "target": "pay"},
        },
        {
            "method": "POST",
            "path": "/keyed",
            "api_key_required": True,
            "integration": {"action": "PutEvents", "target": "shop-bus"},
        },
    ]
    pass_machine = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    nodes = [
        _node(
            "shop-api",
            "http_api",
            routes=routes,
            api_keys=[API_KEY],
            cors_allow_origins=[ORIGIN],
            throttle_rate=1000,
            throttle_burst=100,
        ),
        _node("shop-bus", "event_bus", bus_name="shop"),
        _node("all-orders", "rule", event_pattern={"source": [{"prefix": ""}]}),
        _node("orders-log", "log"),
        _node("pets-fn", "function", transform="jsonata", jsonata=PETS_PROXY),
        _node("pay", "state_machine", definition=pass_machine),
        _node(
            "posts-api",
            "graphql_api",
            schema=POSTS_SDL,
            api_keys=[GRAPHQL_KEY],
            mutations=[{"mutation": "createPost", "target": "shop-bus"}],
        ),
    ]
    edges = [
        _edge("shop-api", "shop-bus"),
        _edge("shop-api", "pets-fn"),
        _edge("shop-api", "pay"),
        _edge("posts-api", "shop-bus"),
        _edge("shop-bus", "all-orders"),
        _edge("all-orders", "orders-log"),
    ]
    return {"schema": SCHEMA, "name": name, "nodes": nodes, "edges": edges}
