"""Integrations: what a matched route does with a request inside the running topology.

AWS service integrations (PutEvents, SendMessage, Publish, PutRecord, StartExecution) hand a
message to the target node and answer with the service API's response; ``Invoke`` is a Lambda
proxy integration. Messages leave through the API node's edge to the target when there is one, so
the canvas counts them on that edge; otherwise they are injected with ``engine.send``.

Default request mapping (there are no VTL templates in the node config): the body is the message
body (JSON when it parses, else text); path and query parameters become message attributes for
queues and topics; PutEvents takes Source/DetailType/Detail from a body shaped like a PutEvents
entry, else Detail is the body and Source/DetailType come from the stage variables ``source`` and
``detail_type`` (defaults: ``flowyard.<api-node-id>`` and ``<METHOD> <resource>``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Protocol

from hosting.gateway.exchange import GatewayRequest, GatewayResponse
from hosting.gateway.proxy import RequestContext, event_v1, event_v2, response_v1, response_v2

MAX_ATTRIBUTES = 10  # SQS and SNS accept at most 10 message attributes


class IntegrationError(Exception):
    """The integration could not run; ``response_type`` names the gateway response."""

    def __init__(self, response_type: str, reason: str) -> None:
        self.response_type = response_type
        self.reason = reason
        super().__init__(reason)


class EngineLike(Protocol):
    """What the gateway needs of a running engine (runtime.engine.Engine provides it)."""

    nodes: Mapping[str, Any]
    clock: Any

    async def send(
        self,
        node_id: str,
        body: Any,
        attributes: Mapping[str, Any] | None = None,
        *,
        system: Mapping[str, Any] | None = None,
    ) -> Any: ...

    def arn(self, service: str, resource: str) -> str: ...


def parsed_body(request: GatewayRequest) -> Any:
    """JSON when the body parses as JSON, else the text; None for an empty body."""
    if not request.body:
        return None
    try:
        return request.json_body()
    except ValueError:
        return request.text


async def deliver(
    engine: EngineLike,
    api_id: str,
    target: str,
    body: Any,
    attributes: Mapping[str, Any] | None = None,
    system: Mapping[str, Any] | None = None,
) -> Any:
    """Hand one message to ``target``: through the API node's edge when wired, else injected.

    A message the target refused (invalid, or its store could not commit it) is never
    acknowledged: the caller gets an integration failure (502) naming the reason, so a client
    retries instead of believing a lost message was accepted.
    """
    node = engine.nodes.get(target)
    if node is None:
        raise IntegrationError("API_CONFIGURATION_ERROR", f"no node {target!r} in this topology")
    refused = refusals(node)
    api = engine.nodes.get(api_id)
    link = next((lk for lk in getattr(api, "links", ()) if lk.target.id == target), None)
    if link is None:
        message = await engine.send(target, body, attributes, system=system)
    else:
        from runtime.events import Message  # core module, imported late to keep this file light

        message = Message.new(
            body, now=engine.clock.now(), attributes=attributes, system=system, node=api_id
        )
        api.note_received([message])  # the API node counts requests like any node counts input
        await api.deliver(link, [message])
    if refusals(node) > refused:
        code, reason = getattr(node, "last_refusal", ("", "refused"))
        raise IntegrationError(
            "INTEGRATION_FAILURE", f"{target} refused the message: {code}: {reason}"
        )
    return message


def refusals(node: Any) -> int:
    """How many messages the node refused so far (0 for nodes that never refuse)."""
    stats = getattr(node, "stats", None)
    return int(getattr(stats, "refused", 0) or 0)


def _string_attributes(context: RequestContext, request: GatewayRequest) -> dict[str, str]:
    attributes = {name: str(value) for name, value in context.path_parameters.items()}
    for name, value in request.query:
        attributes.setdefault(name, value)
    return dict(list(attributes.items())[:MAX_ATTRIBUTES])


async def put_events(
    engine: EngineLike, api_id: str, target: str, request: GatewayRequest, context: RequestContext
) -> GatewayResponse:
    body = parsed_body(request)
    source = context.stage_variables.get("source") or f"flowyard.{api_id}"
    detail_type = context.stage_variables.get("detail_type") or context.route_key
    detail = body
    if isinstance(body, dict) and "Detail" in body:
        source = str(body.get("Source") or source)
        detail_type = str(body.get("DetailType") or detail_type)
        detail = body["Detail"]
        if isinstance(detail, str):
            try:
                detail = json.loads(detail)
            except ValueError:
                detail = None
    if not isinstance(detail, dict):
        return GatewayResponse.json(
            200,
            {
                "Entries": [
                    {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
                ],
                "FailedEntryCount": 1,
            },
        )
    message = await deliver(
        engine, api_id, target, detail, system={"Source": source, "DetailType": detail_type}
    )
    return GatewayResponse.json(200, {"Entries": [{"EventId": message.id}], "FailedEntryCount": 0})


async def send_message(
    engine: EngineLike, api_id: str, target: str, request: GatewayRequest, context: RequestContext
) -> GatewayResponse:
    text = request.text
    system = {}
    group = request.header("x-message-group-id")
    if group:
        system["MessageGroupId"] = group
    dedup = request.header("x-message-deduplication-id")
    if dedup:
        system["MessageDeduplicationId"] = dedup
    message = await deliver(
        engine, api_id, target, text, _string_attributes(context, request), system or None
    )
    return GatewayResponse.json(
        200,
        {
            "MessageId": message.id,
            "MD5OfMessageBody": hashlib.md5(text.encode("utf-8")).hexdigest(),
        },
    )


async def publish(
    engine: EngineLike, api_id: str, target: str, request: GatewayRequest, context: RequestContext
) -> GatewayResponse:
    system = {"Subject": request.header("x-subject")} if request.header("x-subject") else None
    message = await deliver(
        engine, api_id, target, request.text, _string_attributes(context, request), system
    )
    return GatewayResponse.json(200, {"MessageId": message.id})


async def put_record(
    engine: EngineLike, api_id: str, target: str, request: GatewayRequest, context: RequestContext
) -> GatewayResponse:
    key = (
        request.header("x-partition-key")
        or dict(request.query).get("partition_key")
        or context.request_id
    )
    message = await deliver(
        engine, api_id, target, parsed_body(request), system={"PartitionKey": key}
    )
    system = getattr(message, "system", {}) or {}
    answer = {"SequenceNumber": system.get("SequenceNumber"), "ShardId": system.get("ShardId")}
    return GatewayResponse.json(200, {k: v for k, v in answer.items() if v is not None})


def note_call(engine: EngineLike, api_id: str, target: str) -> None:
    """Count a direct call (invoke, start execution) on the API node and its edge, like a send."""
    api = engine.nodes.get(api_id)
    if api is None:
        return
    stats = getattr(api, "stats", None)
    if stats is not None:
        stats.received += 1
        stats.sent += 1
    for link in getattr(api, "links", ()):
        if link.target.id == target:
            link.count += 1


def _refused(error: Exception) -> GatewayResponse | None:
    """A service's refusal (StartRefused and the like) as the AWS error body it would send."""
    code = getattr(error, "code", None)
    if not isinstance(code, str):
        return None
    return GatewayResponse.json(400, {"__type": code, "message": getattr(error, "message", "")})


async def start_execution(
    engine: EngineLike, api_id: str, target: str, request: GatewayRequest, context: RequestContext
) -> GatewayResponse:
    body = parsed_body(request)
    node = engine.nodes.get(target)
    start = getattr(node, "start_execution", None)
    note_call(engine, api_id, target)
    if start is None:
        message = await deliver(engine, api_id, target, {} if body is None else body)
        arn = engine.arn("states", f"execution:{target}:{message.id}")
    else:
        try:
            arn = await start(body, source="api")
        except Exception as error:  # noqa: BLE001 - StartRefused carries the AWS error code
            refused = _refused(error)
            if refused is None:
                raise
            return refused
    return GatewayResponse.json(200, {"executionArn": arn, "startDate": engine.clock.now()})


async def start_sync_execution(
    engine: EngineLike, api_id: str, target: str, request: GatewayRequest, context: RequestContext
) -> GatewayResponse:
    node = engine.nodes.get(target)
    run = getattr(node, "start_sync_execution", None)
    if run is None:
        raise IntegrationError(
            "NOT_IMPLEMENTED",
            "StartSyncExecution needs the state machine node to run an execution synchronously "
            "(start_sync_execution); use StartExecution meanwhile",
        )
    body = parsed_body(request)
    note_call(engine, api_id, target)
    try:
        result = await run({} if body is None else body)
    except Exception as error:  # noqa: BLE001 - StartRefused carries the AWS error code
        refused = _refused(error)
        if refused is None:
            raise
        return refused
    return GatewayResponse.json(200, result)


async def _invoke_function(engine: Any, api_id: str, target: str, event: dict[str, Any]) -> Any:
    """One synchronous invocation of a function node with ``event``; its result body."""
    hook = getattr(engine, "invoke_function", None)
    if hook is not None:
        return await hook(target, event)
    from runtime.events import Message
    from runtime.nodes.state_machine import invoke_function

    node = engine.nodes[target]
    message = Message.new(event, now=engine.clock.now(), node=api_id)
    return await invoke_function(node, message)


async def invoke(
    engine: EngineLike,
    api_id: str,
    target: str,
    request: GatewayRequest,
    context: RequestContext,
    *,
    payload_version: str = "1.0",
) -> GatewayResponse:
    node = engine.nodes.get(target)
    if node is None or getattr(node, "kind", "function") != "function":
        raise IntegrationError("API_CONFIGURATION_ERROR", f"{target!r} is not a function node")
    v1 = payload_version == "1.0"
    event = event_v1(request, context) if v1 else event_v2(request, context)
    note_call(engine, api_id, target)
    try:
        result = await _invoke_function(engine, api_id, target, event)
    except IntegrationError:
        raise
    except Exception as error:  # noqa: BLE001 - a function error is a 502, as on AWS
        raise IntegrationError("INTEGRATION_FAILURE", f"function error: {error}") from error
    try:
        return response_v1(result) if v1 else response_v2(result)
    except ValueError as error:
        raise IntegrationError(
            "INTEGRATION_FAILURE", f"Malformed Lambda proxy response: {error}"
        ) from error


ACTIONS = {
    "PutEvents": put_events,
    "SendMessage": send_message,
    "Publish": publish,
    "PutRecord": put_record,
    "StartExecution": start_execution,
    "StartSyncExecution": start_sync_execution,
}
