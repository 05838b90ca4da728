"""AppSync GraphQL API: mutations publish into the topology, subscriptions push to clients."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import Link, NodeRuntime

AUTH_MODES = (
    "API_KEY",
    "AWS_IAM",
    "AMAZON_COGNITO_USER_POOLS",
    "OPENID_CONNECT",
    "AWS_LAMBDA",
)
DEFAULT_SCHEMA = """\
type Order {
  id: ID!
  status: String
}

type Query {
  order(id: ID!): Order
}

type Mutation {
  createOrder(status: String): Order
}

type Subscription {
  onCreateOrder: Order @aws_subscribe(mutations: ["createOrder"])
}
"""
_TYPE_BLOCK = re.compile(
    r"\b(type|input|interface|enum)\s+([_A-Za-z][_0-9A-Za-z]*)[^{]*\{([^{}]*)\}", re.DOTALL
)
_FIELD_NAME = re.compile(r"^\s*([_A-Za-z][_0-9A-Za-z]*)\s*[(:]", re.MULTILINE)
_SUBSCRIBE = re.compile(r"@aws_subscribe\s*\(\s*mutations\s*:\s*\[([^\]]*)\]\s*\)")
_API_KEY = re.compile(r"[\x21-\x7e]{20,128}")


def schema_problems(sdl: str) -> tuple[list[str], dict[str, list[str]]]:
    """Shallow SDL check (graphql-core is not installed): (errors, fields by root type)."""
    text = re.sub(r"#[^\n]*|\"\"\"(?:.|\n)*?\"\"\"", "", sdl)
    errors: list[str] = []
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0 or depth > 1:
            errors.append("braces are unbalanced or nested")
            break
    if depth:
        errors.append("braces are unbalanced")
    if errors:
        return errors, {}
    types: dict[str, list[str]] = {}
    for match in _TYPE_BLOCK.finditer(text):
        if match.group(2) in types:
            errors.append(f"type {match.group(2)} is defined twice")
        types[match.group(2)] = _FIELD_NAME.findall(match.group(3))
    if "Query" not in types:
        errors.append("the schema needs a Query type")
    roots = {name: types.get(name, []) for name in ("Query", "Mutation", "Subscription")}
    for match in _SUBSCRIBE.finditer(text):
        for mutation in re.findall(r"\"([^\"]*)\"", match.group(1)):
            if mutation not in roots["Mutation"]:
                errors.append(f"@aws_subscribe names {mutation}, which is not a Mutation field")
    return errors, roots


class GraphqlApi(Kind):
    name = "graphql_api"
    label = "GraphQL API"
    group = "Producers"
    icon = "◈"
    description = "AppSync API: mutations publish into the topology; subscriptions push results."
    models = "AWS AppSync"
    has_input = False
    feeds = frozenset({"event_bus", "queue", "topic", "function", "state_machine"})
    fields = (
        Field(
            "schema",
            "text",
            DEFAULT_SCHEMA,
            "The GraphQL schema (SDL) with Query, Mutation and Subscription types. A "
            'subscription field with @aws_subscribe(mutations: ["createOrder"]) fires only '
            "when one of those mutations runs through this API, and receives the fields the "
            "mutation selected (others arrive null).",
        ),
        Field(
            "auth_mode",
            "choice",
            "API_KEY",
            "How callers authenticate. API_KEY: the x-api-key header must hold one of the keys "
            "below (else 401 UnauthorizedException). The other modes are accepted without a "
            "check in Flowyard.",
            label="Authorization mode",
            choices=AUTH_MODES,
        ),
        Field(
            "api_keys",
            "list",
            [],
            "API_KEY mode: accepted key values (20-128 printable characters each). With none, "
            "every request is refused.",
            label="API keys",
            maximum=50,
        ),
        Field(
            "mutations",
            "list",
            [],
            'Which node each mutation publishes to: entries like {"mutation": '
            '"createOrder", "target": "orders-bus"}. The mutation\'s arguments become '
            "the message body. Unmapped mutations resolve locally and only trigger subscriptions.",
            label="Mutation targets",
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        seen: set[str] = set()
        for index, key in enumerate(config["api_keys"]):
            where = f"/api_keys/{index}"
            if not isinstance(key, str) or not _API_KEY.fullmatch(key):
                problems.append((where, "must be 20-128 printable characters, no spaces"))
            elif key in seen:
                problems.append((where, "is listed twice"))
            else:
                seen.add(key)
        if config["api_keys"] and config["auth_mode"] != "API_KEY":
            problems.append(("/api_keys", "applies only when auth_mode is API_KEY"))
        mapped: set[str] = set()
        for index, entry in enumerate(config["mutations"]):
            where = f"/mutations/{index}"
            if not isinstance(entry, dict) or set(entry) != {"mutation", "target"}:
                problems.append((where, "must be an object {mutation, target}"))
                continue
            mutation, target = entry["mutation"], entry["target"]
            if not isinstance(mutation, str) or not mutation:
                problems.append((f"{where}/mutation", "must name a Mutation field"))
            elif mutation in mapped:
                problems.append((f"{where}/mutation", f"{mutation} is mapped twice"))
            else:
                mapped.add(mutation)
            if not isinstance(target, str) or not target:
                problems.append((f"{where}/target", "must be the id of a node"))
        return problems

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        errors, roots = schema_problems(config["schema"])
        if errors:
            return [("/schema", error) for error in errors]
        return [
            (
                f"/mutations/{index}/mutation",
                f"{entry['mutation']} is not a field of the Mutation type",
            )
            for index, entry in enumerate(config["mutations"])
            if isinstance(entry, dict) and entry.get("mutation") not in roots["Mutation"]
        ]


class GraphqlApiNode(NodeRuntime):
    """Mutations executed through the API (edge code calls ``inject``) publish their input to
    the wired nodes; subscriptions are pushed by the edge from the same messages."""

    kind = "graphql_api"

    async def inject(
        self,
        body: Any,
        attributes: Mapping[str, Any] | None = None,
        system: Mapping[str, Any] | None = None,
    ) -> Message:
        merged = {"Source": f"flowyard.{self.id}", "DetailType": "GraphQL Mutation"}
        return await super().inject(body, attributes, {**merged, **(system or {})})

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        await self.send_on(messages)
