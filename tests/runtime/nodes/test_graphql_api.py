from __future__ import annotations

from runtime.nodes.graphql_api import GraphqlApi
from tests.runtime.nodes import lint, problems


def test_defaults_are_an_orders_schema_with_api_key_auth() -> None:
    assert GraphqlApi.check_config({}) == []
    assert GraphqlApi.defaults()["auth_mode"] == "API_KEY"


def test_a_graphql_api_has_no_input() -> None:
    assert not GraphqlApi.has_input
    assert GraphqlApi.feeds == {"event_bus", "queue", "topic", "function", "state_machine"}


def mapping(mutation: str, target: str = "orders-bus") -> dict[str, str]:
    return {"mutation": mutation, "target": target}


def test_mutations_map_to_nodes() -> None:
    assert lint(GraphqlApi, mutations=[mapping("createOrder")]) == {}
    assert problems(GraphqlApi, mutations=[mapping("createOrder", "")]) == {
        "/mutations/0/target": "must be the id of a node"
    }
    assert problems(GraphqlApi, mutations=["createOrder"]) == {
        "/mutations/0": "must be an object {mutation, target}"
    }
    assert problems(GraphqlApi, mutations=[mapping("createOrder"), mapping("createOrder")]) == {
        "/mutations/1/mutation": "createOrder is mapped twice"
    }


def test_the_linter_reports_mutations_missing_from_the_schema() -> None:
    assert problems(GraphqlApi, mutations=[mapping("deleteOrder")]) == {}
    assert lint(GraphqlApi, mutations=[mapping("deleteOrder")]) == {
        "/mutations/0/mutation": "deleteOrder is not a field of the Mutation type"
    }


def test_the_schema_needs_a_query_type_and_balanced_braces() -> None:
    assert problems(GraphqlApi, schema="type Mutation { a: Int }") == {}
    assert lint(GraphqlApi, schema="type Mutation { a: Int }") == {
        "/schema": "the schema needs a Query type"
    }
    assert lint(GraphqlApi, schema="type Query { a: Int ") == {"/schema": "braces are unbalanced"}


def test_subscriptions_must_name_existing_mutations() -> None:
    schema = (
        'type Query { a: Int }\ntype Subscription { s: Int @aws_subscribe(mutations: ["nope"]) }'
    )
    assert lint(GraphqlApi, schema=schema) == {
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
