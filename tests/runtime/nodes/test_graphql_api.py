from __future__ import annotations

from runtime.nodes.graphql_api import GraphqlApi
from tests.runtime.nodes import problems


def test_defaults_are_an_orders_schema_with_api_key_auth() -> None:
    assert GraphqlApi.check_config({}) == []
    assert GraphqlApi.defaults()["auth_mode"] == "API_KEY"


def test_a_graphql_api_has_no_input() -> None:
    assert not GraphqlApi.has_input
    assert GraphqlApi.feeds == {"event_bus", "queue", "topic", "function", "state_machine"}


def test_mutations_map_to_nodes() -> None:
    assert problems(GraphqlApi, mutations={"createOrder": "orders-bus"}) == {}
    assert problems(GraphqlApi, mutations={"deleteOrder": "orders-bus"}) == {
        "/mutations/deleteOrder": "deleteOrder is not a field of the Mutation type"
    }
    assert problems(GraphqlApi, mutations={"createOrder": ""}) == {
        "/mutations/createOrder": "must be the id of a node"
    }
    assert problems(GraphqlApi, mutations=["createOrder"]) == {
        "/mutations": "must be an object of mutation name → node id"
    }


def test_the_schema_needs_a_query_type_and_balanced_braces() -> None:
    assert problems(GraphqlApi, schema="type Mutation { a: Int }") == {
        "/schema": "the schema needs a Query type"
    }
    assert problems(GraphqlApi, schema="type Query { a: Int ") == {
        "/schema": "braces are unbalanced"
    }


def test_subscriptions_must_name_existing_mutations() -> None:
    schema = (
        'type Query { a: Int }\ntype Subscription { s: Int @aws_subscribe(mutations: ["nope"]) }'
    )
    assert problems(GraphqlApi, schema=schema) == {
        "/schema": "@aws_subscribe names nope, which is not a Mutation field"
    }


def test_api_keys_are_checked_and_only_for_api_key_auth() -> None:
    assert problems(GraphqlApi, api_keys=["da2-" + "a" * 26]) == {}
    assert problems(GraphqlApi, api_keys=["short"]) == {
        "/api_keys/0": "must be 20-128 printable characters, no spaces"
    }
    assert problems(GraphqlApi, auth_mode="AWS_IAM", api_keys=["da2-" + "a" * 26]) == {
        "/api_keys": "applies only when auth_mode is API_KEY"
    }
