"""One ``graphql_api`` node of a running engine: execution, mutations into the topology, and the
subscription hub (spec §8.2).

Queries resolve locally (a NONE data source: fields are null unless the parent holds them).
A mutation's result is its arguments (one input-object argument is unwrapped, a missing ``id``
is generated); it is published to the node the mutation is mapped to, then every subscription
whose ``@aws_subscribe`` names the mutation receives the mutation's own selection set, so fields
the mutation did not select arrive null. Subscription arguments are equality filters on it.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    execute,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)

from hosting.appsync.schema import schema_from_sdl, subscribed_mutations
from hosting.gateway.integrations import deliver

MAX_QUERY_BYTES = 64 * 1024
MAX_TOKENS = 5000  # parse limit: a huge query cannot tie up the parser
MAX_SUBSCRIPTIONS = 100  # per API node

Listener = Callable[[dict[str, Any]], None]


class Unauthorized(Exception):
    """API_KEY mode and no valid key: AppSync's UnauthorizedException (401)."""


@dataclass
class Subscription:
    field_name: str
    filters: Mapping[str, Any]
    document: DocumentNode
    variables: Mapping[str, Any]
    operation_name: str | None
    listener: Listener  # called with each payload on the subscriber's own loop
    loop: asyncio.AbstractEventLoop
    mutations: frozenset[str] = field(default_factory=frozenset)


def error_result(message: str, error_type: str = "BadRequestException") -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, "errorType": error_type}]}


class GraphqlApi:
    def __init__(self, engine: Any, node_id: str, settings: Mapping[str, Any]) -> None:
        self.engine = engine
        self.node_id = node_id
        self.settings = settings
        self.schema: GraphQLSchema = schema_from_sdl(settings["schema"])
        self.targets = {
            entry["mutation"]: entry["target"] for entry in settings.get("mutations", [])
        }
        self.subscribe_map = subscribed_mutations(self.schema)
        self.subscriptions: dict[int, Subscription] = {}
        self._ids = iter(range(1, 1 << 62))
        self.published = 0

    # --- auth --------------------------------------------------------------------------------
    def authorize(self, api_key: str) -> None:
        if self.settings.get("auth_mode", "API_KEY") != "API_KEY":
            return
        if not api_key or api_key not in set(self.settings.get("api_keys", [])):
            raise Unauthorized("Valid authorization header not provided.")

    # --- parsing -----------------------------------------------------------------------------
    def parse(
        self, query: Any, operation_name: str | None
    ) -> tuple[DocumentNode, OperationDefinitionNode]:
        """Parse and validate; raises GraphQLError with the reason."""
        if not isinstance(query, str) or not query.strip():
            raise GraphQLError("a query string is required")
        if len(query.encode("utf-8")) > MAX_QUERY_BYTES:
            raise GraphQLError("the query is larger than 64 KiB")
        document = parse(query, max_tokens=MAX_TOKENS)
        errors = validate(self.schema, document)
        if errors:
            raise errors[0]
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [
            op
            for op in operations
            if operation_name is None or (op.name and op.name.value == operation_name)
        ]
        if len(chosen) != 1:
            raise GraphQLError("name the operation to run (operationName)")
        return document, chosen[0]

    # --- queries and mutations ---------------------------------------------------------------
    async def execute(
        self, query: Any, variables: Mapping[str, Any] | None, operation_name: str | None
    ) -> dict[str, Any]:
        """Run a query or mutation; a mutation publishes and feeds the subscriptions."""
        try:
            document, operation = self.parse(query, operation_name)
        except GraphQLError as error:
            return error_result(error.message)
        if operation.operation is OperationType.SUBSCRIPTION:
            return error_result("subscriptions need the websocket endpoint")
        published: list[tuple[str, str, dict[str, Any]]] = []
        root = {}
        if operation.operation is OperationType.MUTATION:
            root = self._mutation_root(published)
        result = execute(
            self.schema,
            document,
            root_value=root,
            variable_values=dict(variables or {}),
            operation_name=operation_name,
        )
        if asyncio.iscoroutine(result) or hasattr(result, "__await__"):
            result = await result  # type: ignore[misc]
        answer = result.formatted
        for mutation, response_key, _arguments in published:
            await self._publish(mutation, _arguments)
            payload = (answer.get("data") or {}).get(response_key)
            self._notify(mutation, payload)
        return answer

    def _mutation_root(self, published: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
        mutation_type = self.schema.mutation_type
        assert mutation_type is not None
        return {
            name: self._mutation_resolver(name, mutation_type, published)
            for name in mutation_type.fields
        }

    def _mutation_resolver(
        self,
        name: str,
        mutation_type: GraphQLObjectType,
        published: list[tuple[str, str, dict[str, Any]]],
    ) -> Callable[..., Any]:
        returns = get_named_type(mutation_type.fields[name].type)

        def resolve(info: Any, **arguments: Any) -> Any:
            result = _result_of(arguments, returns)
            key = info.path.key if info is not None else name
            published.append((name, str(key), result))
            return result

        return resolve

    async def _publish(self, mutation: str, body: dict[str, Any]) -> None:
        target = self.targets.get(mutation)
        if target is None:
            return  # unmapped mutations resolve locally and only feed subscriptions
        system = {"Source": f"flowyard.{self.node_id}", "DetailType": mutation}
        await deliver(self.engine, self.node_id, target, body, system=system)
        self.published += 1

    # --- subscriptions -----------------------------------------------------------------------
    def subscribe(
        self,
        query: Any,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        listener: Listener,
        loop: asyncio.AbstractEventLoop,
    ) -> int:
        """Register a subscription; returns its handle. Raises GraphQLError when invalid."""
        document, operation = self.parse(query, operation_name)
        if operation.operation is not OperationType.SUBSCRIPTION:
            raise GraphQLError("not a subscription")
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise GraphQLError("too many subscriptions on this API")
        field_node = operation.selection_set.selections[0]
        assert isinstance(field_node, FieldNode)
        filters = {
            argument.name.value: value_from_ast_untyped(argument.value, dict(variables or {}))
            for argument in field_node.arguments or ()
        }
        handle = next(self._ids)
        self.subscriptions[handle] = Subscription(
            field_node.name.value,
            {k: v for k, v in filters.items() if v is not None and v is not Undefined},
            document,
            dict(variables or {}),
            operation_name,
            listener,
            loop,
            self.subscribe_map.get(field_node.name.value, frozenset()),
        )
        return handle

    def unsubscribe(self, handle: int) -> None:
        self.subscriptions.pop(handle, None)

    def _notify(self, mutation: str, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        for subscription in list(self.subscriptions.values()):
            if mutation not in subscription.mutations:
                continue
            if any(payload.get(name) != value for name, value in subscription.filters.items()):
                continue
            subscription.loop.call_soon_threadsafe(
                _deliver_event, self.schema, subscription, payload
            )


def _deliver_event(schema: GraphQLSchema, subscription: Subscription, payload: Any) -> None:
    # Runs on the subscriber's loop: the subscription's selection set is applied to the payload.
    result = execute(
        schema,
        subscription.document,
        root_value={subscription.field_name: payload},
        variable_values=dict(subscription.variables),
        operation_name=subscription.operation_name,
    )
    subscription.listener(result.formatted)  # type: ignore[union-attr]


def _result_of(arguments: Mapping[str, Any], returns: GraphQLNamedType) -> dict[str, Any]:
    values = dict(arguments)
    if len(values) == 1:
        only = next(iter(values.values()))
        if isinstance(only, Mapping):
            values = dict(only)  # createPost(input: {...}) resolves to the input's fields
    if isinstance(returns, GraphQLObjectType) and "id" in returns.fields and "id" not in values:
        values["id"] = str(uuid.uuid4())
    return values


# --- the APIs of running engines ------------------------------------------------------------------
_apis: weakref.WeakKeyDictionary[Any, dict[str, GraphqlApi]] = weakref.WeakKeyDictionary()


def graphql_nodes(engine: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(node.id, node.settings()) for node in engine.spec.nodes if node.kind == "graphql_api"]


def api_for(engine: Any, node_id: str | None = None) -> GraphqlApi | None:
    """The API of ``node_id`` (or of the topology's only/first graphql_api node)."""
    nodes = graphql_nodes(engine)
    if node_id is not None:
        nodes = [(nid, s) for nid, s in nodes if nid == node_id]
    if not nodes:
        return None
    chosen, settings = nodes[0]
    per_engine = _apis.setdefault(engine, {})
    if chosen not in per_engine:
        per_engine[chosen] = GraphqlApi(engine, chosen, settings)
    return per_engine[chosen]
