"""A topology from the CloudFormation subset that ``cloudformation`` writes.

Settings a resource property carries are read from the property, so an edited template imports
as edited: queues, topics, buses, rules and their targets, subscriptions, streams, functions,
state machines, API stages, keys and routes, AppSync APIs, and the consumer settings of event
source mappings. The rest (positions, labels, settings no property expresses, nodes and edges
with no resource) comes from the ``Flowyard`` metadata; API routes read from resources are
merged into the metadata's by method and path, so edited and added routes import while a route
deleted from the template stays. A template written by hand imports too: each supported
resource becomes a node, and subscriptions, rule targets and event source mappings become
edges. Resources of other types are named and refused unless the caller agrees to skip them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from runtime.formats.cloudformation import DEFAULT_BUS_ARN, KAFKA_POSITIONS
from runtime.formats.errors import FormatError, UnsupportedResources
from runtime.nodes import KINDS
from runtime.spec import SCHEMA

PRIMARY: dict[str, str] = {
    "AWS::SQS::Queue": "queue",
    "AWS::SNS::Topic": "topic",
    "AWS::Events::EventBus": "event_bus",
    "AWS::Events::Rule": "rule",
    "AWS::Kinesis::Stream": "stream",
    "AWS::Lambda::Function": "function",
    "AWS::StepFunctions::StateMachine": "state_machine",
    "AWS::ApiGateway::RestApi": "http_api",
    "AWS::ApiGatewayV2::Api": "http_api",
    "AWS::Logs::LogGroup": "log",
    "AWS::AppSync::GraphQLApi": "graphql_api",
}
# Written by export as wiring or support of a node; read for edges and settings, never nodes.
DERIVED = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SNS::Subscription",
        "AWS::Events::Archive",
        "AWS::Events::Connection",
        "AWS::Events::ApiDestination",
        "AWS::AppSync::GraphQLSchema",
        "AWS::AppSync::ApiKey",
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Kinesis::StreamConsumer",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::ApiKey",
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::UsagePlanKey",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Stage",
        "AWS::MSK::Cluster",
        "AWS::AmazonMQ::Broker",
        "AWS::SecretsManager::Secret",
        "AWS::CloudFormation::WaitConditionHandle",
    }
)
GRID_X, GRID_Y, GRID_COLUMNS = 220, 120, 5


def looks_like_template(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("Resources"), dict)


class Reader:
    """One template being read: resources, their Flowyard metadata, and node ids by logical id."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, dict[str, Any]] = {
            name: resource
            for name, resource in template["Resources"].items()
            if isinstance(resource, dict)
        }
        meta = template.get("Metadata")
        flowyard = meta.get("Flowyard") if isinstance(meta, dict) else None
        self.meta: dict[str, Any] = flowyard if isinstance(flowyard, dict) else {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.node_of: dict[str, str] = {}

    def props(self, logical: str) -> dict[str, Any]:
        props = self.resources[logical].get("Properties")
        return props if isinstance(props, dict) else {}

    def of_type(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (name, self.props(name))
            for name, resource in self.resources.items()
            if resource.get("Type") == kind
        ]

    def target(self, value: Any) -> str | None:
        """The node id a Ref, GetAtt or ${X.Arn} Sub points to, or None."""
        logical = referenced(value)
        if logical is None and value == {"Fn::Sub": DEFAULT_BUS_ARN}:
            return self.default_bus()
        return self.node_of.get(logical) if logical else None

    def default_bus(self) -> str | None:
        for node_id, entry in self.nodes.items():
            if entry.get("kind") == "event_bus" and entry["config"].get("bus_name", "default") == (
                "default"
            ):
                return node_id
        return None


def referenced(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(value.get("Ref"), str):
            return value["Ref"]
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
            return attribute[0]
        if isinstance(attribute, str):
            return attribute.split(".", 1)[0]
        text = value.get("Fn::Sub")
        if isinstance(text, str):
            match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}", text)
            return match.group(1) if match else None
    return None


def flowyard_of(resource: dict[str, Any]) -> dict[str, Any]:
    meta = resource.get("Metadata")
    entry = meta.get("Flowyard") if isinstance(meta, dict) else None
    return entry if isinstance(entry, dict) else {}


def to_document(template: Any, *, skip_unsupported: bool = False) -> tuple[dict[str, Any], list]:
    """The topology document and the names of skipped resources; refuses unsupported ones."""
    if not looks_like_template(template):
        raise FormatError("not a CloudFormation template: it has no Resources object")
    reader = Reader(template)
    unsupported = [
        (str(name), str(resource.get("Type")))
        for name, resource in reader.resources.items()
        if str(resource.get("Type")) not in PRIMARY.keys() | DERIVED
    ]
    if unsupported and not skip_unsupported:
        raise UnsupportedResources(unsupported)
    try:
        read_nodes(reader)
        edges = read_edges(reader)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        # Metadata edited into an unexpected shape; the validator cannot point at it either.
        raise FormatError(f"the template's Flowyard metadata is malformed ({error!r})") from None
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "name": text(reader.meta.get("name")) or text(template.get("Description")) or "Imported",
        "description": text(reader.meta.get("description")),
        "nodes": [finish_node(entry) for entry in ordered_nodes(reader)],
        "edges": edges,
    }
    if isinstance(reader.meta.get("meta"), dict):
        document["meta"] = reader.meta["meta"]
    document["name"] = document["name"][:200]
    return document, [f"{name} ({kind})" for name, kind in unsupported]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# --- nodes -----------------------------------------------------------------------------------


def read_nodes(reader: Reader) -> None:
    for entry in as_list(reader.meta.get("nodes")):
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
            reader.nodes[entry["id"]] = {**entry, "config": dict(config)}
    primary = []
    for logical, resource in reader.resources.items():
        kind = PRIMARY.get(str(resource.get("Type")))
        entry = flowyard_of(resource)
        if kind is None or "part_of" in entry:
            continue
        node_id = entry.get("id") if isinstance(entry.get("id"), str) else new_id(reader, logical)
        reader.node_of[logical] = node_id
        primary.append((logical, kind, node_id, entry))
    for logical, kind, node_id, entry in primary:
        extras = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        config = {**extras, **READERS[kind](reader, logical, reader.resources[logical])}
        reader.nodes[node_id] = {
            "id": node_id,
            "kind": kind,
            "label": entry.get("label", logical),
            "x": entry.get("x"),
            "y": entry.get("y"),
            "config": config,
        }
    read_node_extras(reader)
    place_new_nodes(reader)


def new_id(reader: Reader, logical: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.\-]", "-", logical)[:76] or "node"
    node_id, counter = base, 2
    taken = set(reader.node_of.values()) | set(reader.nodes)
    while node_id in taken:
        node_id = f"{base}-{counter}"
        counter += 1
    return node_id


def place_new_nodes(reader: Reader) -> None:
    """Grid positions below the placed nodes for resources written without Flowyard metadata."""
    placed = [entry for entry in reader.nodes.values() if isinstance(entry.get("y"), int | float)]
    top = max((entry["y"] for entry in placed), default=-GRID_Y) + GRID_Y
    unplaced = [entry for entry in reader.nodes.values() if entry not in placed]
    for index, entry in enumerate(unplaced):
        entry["x"] = 40 + (index % GRID_COLUMNS) * GRID_X
        entry["y"] = top + (index // GRID_COLUMNS) * GRID_Y


def ordered_nodes(reader: Reader) -> list[dict[str, Any]]:
    order = [
        node_id
        for node_id in as_list(reader.meta.get("order"))
        if isinstance(node_id, str) and node_id in reader.nodes
    ]
    rest = [node_id for node_id in reader.nodes if node_id not in order]
    return [reader.nodes[node_id] for node_id in [*order, *rest]]


def finish_node(entry: dict[str, Any]) -> dict[str, Any]:
    kind = entry.get("kind")
    defaults = KINDS[kind].defaults() if isinstance(kind, str) and kind in KINDS else {}
    config = {
        name: value for name, value in entry["config"].items() if defaults.get(name, ...) != value
    }
    return {
        "id": entry["id"],
        "kind": kind,
        "label": entry.get("label") if isinstance(entry.get("label"), str) else entry["id"],
        "x": entry.get("x", 0),
        "y": entry.get("y", 0),
        "config": config,
    }


def integer(value: Any) -> Any:
    """CloudFormation accepts numbers as strings; the document wants numbers."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def as_object(value: Any) -> Any:
    """Policies and patterns may be written as JSON strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def copy_props(props: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {field: integer(props[prop]) for prop, field in names.items() if prop in props}


def read_queue(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    props = reader.props(logical)
    config = copy_props(
        props,
        {
            "FifoQueue": "fifo",
            "ContentBasedDeduplication": "content_based_deduplication",
            "DeduplicationScope": "deduplication_scope",
            "FifoThroughputLimit": "fifo_throughput_limit",
            "VisibilityTimeout": "visibility_timeout",
            "DelaySeconds": "delay_seconds",
            "MessageRetentionPeriod": "retention_period",
            "MaximumMessageSize": "max_message_size",
            "ReceiveMessageWaitTimeSeconds": "receive_wait_time",
        },
    )
    redrive = as_object(props.get("RedrivePolicy"))
    if isinstance(redrive, dict):
        dlq = reader.target(redrive.get("deadLetterTargetArn"))
        if dlq:
            config["dead_letter_queue"] = dlq
        if "maxReceiveCount" in redrive:
            config["max_receive_count"] = integer(redrive["maxReceiveCount"])
    return config


def read_topic(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    return copy_props(
        reader.props(logical),
        {
            "FifoTopic": "fifo",
            "ContentBasedDeduplication": "content_based_deduplication",
            "FifoThroughputScope": "fifo_throughput_scope",
            "DisplayName": "display_name",
        },
    )


def read_event_bus(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    return copy_props(reader.props(logical), {"Name": "bus_name"})


def read_rule(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    props = reader.props(logical)
    config = copy_props(
        props,
        {
            "ScheduleExpression": "schedule_expression",
            "State": "state",
            "Description": "description",
        },
    )
    config["event_pattern"] = as_object(props.get("EventPattern"))
    targets = [target for target in props.get("Targets") or [] if isinstance(target, dict)]
    if targets:
        retry = targets[0].get("RetryPolicy")
        retry = retry if isinstance(retry, dict) else {}
        config.update(
            copy_props(
                retry,
                {
                    "MaximumRetryAttempts": "max_retry_attempts",
                    "MaximumEventAgeInSeconds": "max_event_age",
                },
            )
        )
        dead_letter = targets[0].get("DeadLetterConfig")
        dlq = reader.target(dead_letter.get("Arn")) if isinstance(dead_letter, dict) else None
        config["dead_letter_queue"] = dlq or ""
    return config


def read_stream(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    props = reader.props(logical)
    config = copy_props(
        props, {"ShardCount": "shard_count", "RetentionPeriodHours": "retention_hours"}
    )
    mode = props.get("StreamModeDetails")
    if isinstance(mode, dict) and "StreamMode" in mode:
        config["capacity_mode"] = mode["StreamMode"]
    return config


def read_function(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    config = copy_props(
        reader.props(logical),
        {
            "Runtime": "runtime",
            "MemorySize": "memory",
            "Timeout": "timeout",
            "ReservedConcurrentExecutions": "reserved_concurrency",
        },
    )
    for _name, props in reader.of_type("AWS::Lambda::EventInvokeConfig"):
        if referenced(props.get("FunctionName")) != logical:
            continue
        config.update(
            copy_props(
                props,
                {
                    "MaximumRetryAttempts": "max_retry_attempts",
                    "MaximumEventAgeInSeconds": "max_event_age",
                },
            )
        )
        destination = props.get("DestinationConfig")
        failure = destination.get("OnFailure") if isinstance(destination, dict) else None
        if isinstance(failure, dict):
            config["on_failure"] = reader.target(failure.get("Destination")) or ""
    return config


def read_state_machine(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    props = reader.props(logical)
    config = copy_props(props, {"StateMachineType": "type"})
    definition = props.get("Definition", as_object(props.get("DefinitionString")))
    originals = flowyard_of(resource).get("substitutions")
    if definition is not None:
        config["definition"] = restore(definition, originals if isinstance(originals, dict) else {})
    logging = props.get("LoggingConfiguration")
    config["log_level"] = logging.get("Level", "OFF") if isinstance(logging, dict) else "OFF"
    return config


def restore(value: Any, originals: dict[str, Any]) -> Any:
    """A definition with export's ${placeholders} put back to the text they replaced."""
    if isinstance(value, str):
        return originals.get(value, value)
    if isinstance(value, list):
        return [restore(item, originals) for item in value]
    if isinstance(value, dict):
        return {key: restore(item, originals) for key, item in value.items()}
    return value


def read_http_api(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    # Routes come from the metadata: the methods and integrations are derived from them.
    if resource.get("Type") == "AWS::ApiGateway::RestApi":
        return {"api_type": "REST", **read_rest_stage(reader, logical)}
    config: dict[str, Any] = {"api_type": "HTTP"}
    cors = reader.props(logical).get("CorsConfiguration")
    cors = cors if isinstance(cors, dict) else {}
    for prop, field in CORS_PROPS.items():
        config[field] = cors.get(prop, [])
    for _name, props in reader.of_type("AWS::ApiGatewayV2::Stage"):
        if referenced(props.get("ApiId")) != logical:
            continue
        config.update(
            copy_props(props, {"StageName": "stage", "StageVariables": "stage_variables"})
        )
        settings = props.get("DefaultRouteSettings")
        if isinstance(settings, dict):
            config.update(copy_props(settings, THROTTLE_PROPS))
    return config


CORS_PROPS = {
    "AllowOrigins": "cors_allow_origins",
    "AllowMethods": "cors_allow_methods",
    "AllowHeaders": "cors_allow_headers",
}
THROTTLE_PROPS = {"ThrottlingRateLimit": "throttle_rate", "ThrottlingBurstLimit": "throttle_burst"}


def read_rest_stage(reader: Reader, logical: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, props in reader.of_type("AWS::ApiGateway::Stage"):
        if referenced(props.get("RestApiId")) != logical:
            continue
        config.update(copy_props(props, {"StageName": "stage", "Variables": "stage_variables"}))
        config.setdefault("stage_variables", {})
        settings = [s for s in as_list(props.get("MethodSettings")) if isinstance(s, dict)]
        if settings:
            config.update(copy_props(settings[0], THROTTLE_PROPS))
        config.update(read_usage_plan(reader, logical, name))
    return config


def read_usage_plan(reader: Reader, api: str, stage: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for plan, props in reader.of_type("AWS::ApiGateway::UsagePlan"):
        stages = [s for s in as_list(props.get("ApiStages")) if isinstance(s, dict)]
        if not any(referenced(s.get("ApiId")) == api for s in stages):
            continue
        throttle, quota = props.get("Throttle"), props.get("Quota")
        if isinstance(throttle, dict):
            names = {"RateLimit": "usage_plan_rate", "BurstLimit": "usage_plan_burst"}
            config.update(copy_props(throttle, names))
        if isinstance(quota, dict):
            config.update(copy_props(quota, {"Limit": "quota_limit", "Period": "quota_period"}))
        config["api_keys"] = [
            reader.props(key).get("Value")
            for _name, link in reader.of_type("AWS::ApiGateway::UsagePlanKey")
            if referenced(link.get("UsagePlanId")) == plan
            and (key := referenced(link.get("KeyId"))) in reader.resources
        ]
    return config


def read_graphql_api(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    config = copy_props(reader.props(logical), {"AuthenticationType": "auth_mode"})
    for _name, props in reader.of_type("AWS::AppSync::GraphQLSchema"):
        if referenced(props.get("ApiId")) == logical and isinstance(props.get("Definition"), str):
            config["schema"] = props["Definition"]
    return config


def read_log(reader: Reader, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {}


READERS: dict[str, Callable[[Reader, str, dict[str, Any]], dict[str, Any]]] = {
    "queue": read_queue,
    "topic": read_topic,
    "event_bus": read_event_bus,
    "rule": read_rule,
    "stream": read_stream,
    "function": read_function,
    "state_machine": read_state_machine,
    "http_api": read_http_api,
    "graphql_api": read_graphql_api,
    "log": read_log,
}


def read_node_extras(reader: Reader) -> None:
    """Settings that live on derived resources: API routes, bus archives."""
    read_routes(reader)
    for _name, props in reader.of_type("AWS::Events::Archive"):
        bus = reader.target(props.get("SourceArn"))
        if bus is None or bus not in reader.nodes:
            continue
        config = reader.nodes[bus]["config"]
        config["archive_enabled"] = True
        config["archive_pattern"] = as_object(props.get("EventPattern"))
        if "RetentionDays" in props:
            config["archive_retention_days"] = integer(props["RetentionDays"])


# --- API routes ------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}")
REST_ACTIONS = {
    ":sqs:path/": "SendMessage",
    ":sns:action/Publish": "Publish",
    ":events:action/PutEvents": "PutEvents",
    ":kinesis:action/PutRecord": "PutRecord",
    ":states:action/StartSyncExecution": "StartSyncExecution",
    ":states:action/StartExecution": "StartExecution",
}
V2_ACTIONS = {
    "EventBridge-PutEvents": "PutEvents",
    "SQS-SendMessage": "SendMessage",
    "Kinesis-PutRecord": "PutRecord",
    "StepFunctions-StartExecution": "StartExecution",
    "StepFunctions-StartSyncExecution": "StartSyncExecution",
}


def read_routes(reader: Reader) -> None:
    """Routes as the API's methods or routes and integrations describe them, merged into the
    metadata's routes by method and path: edited and added routes import, and settings no
    resource carries (request schemas) stay."""
    found: dict[str, list[dict[str, Any]]] = {}
    for route in rest_routes(reader) + v2_routes(reader):
        api, entry = route
        found.setdefault(api, []).append(entry)
    for api, routes in found.items():
        config = reader.nodes[api]["config"]
        known = [r for r in as_list(config.get("routes")) if isinstance(r, dict)]
        by_key = {(r.get("method"), r.get("path")): r for r in known}
        for route in routes:
            match = by_key.get((route["method"], route["path"]))
            if route["path"] == "$default" and match is None:
                match = next((r for r in known if r.get("path") == "$default"), None)
            if route.get("api_key_required") is False and "api_key_required" not in (match or {}):
                del route["api_key_required"]  # false is the default; keep routes minimal
            if match is None:
                known.append(route)
            else:
                match.update({k: v for k, v in route.items() if k != "method"})
        config["routes"] = known


def named_target(reader: Reader, texts: list[Any]) -> str | None:
    """The node an integration names by a Ref, GetAtt or ${Logical} in one of its texts."""
    for text in texts:
        logical = referenced(text)
        if logical in reader.node_of:
            return reader.node_of[logical]
        for match in _PLACEHOLDER.finditer(json.dumps(text)):
            if match.group(1) in reader.node_of:
                return reader.node_of[match.group(1)]
    return None


def bus_named(reader: Reader, name: Any) -> str | None:
    """The event bus node with this bus name (PutEvents names buses, not resources)."""
    for node_id, entry in reader.nodes.items():
        if entry.get("kind") == "event_bus" and entry["config"].get("bus_name", "default") == name:
            return node_id
    return None


def template_bus_name(template: Any) -> Any:
    """EventBusName of the first entry of a PutEvents request template."""
    try:
        entries = json.loads(template).get("Entries") if isinstance(template, str) else None
        return entries[0].get("EventBusName") if entries else None
    except (ValueError, AttributeError, TypeError):
        return None


def rest_path(reader: Reader, resource_id: Any) -> str | None:
    parts: list[str] = []
    for _step in range(64):  # deeper than any real API; stops a ParentId cycle
        if isinstance(resource_id, dict) and "Fn::GetAtt" in resource_id:
            return "/" + "/".join(reversed(parts))
        logical = referenced(resource_id)
        if logical not in reader.resources:
            return None
        props = reader.props(logical)
        parts.append(str(props.get("PathPart", "")))
        resource_id = props.get("ParentId")
    return None


def rest_routes(reader: Reader) -> list[tuple[str, dict[str, Any]]]:
    routes = []
    for _name, props in reader.of_type("AWS::ApiGateway::Method"):
        api = reader.node_of.get(referenced(props.get("RestApiId")) or "")
        integration = props.get("Integration")
        path = rest_path(reader, props.get("ResourceId"))
        if api is None or path is None or not isinstance(integration, dict):
            continue
        uri = integration.get("Uri")
        uri_text = json.dumps(uri)
        action = "Invoke" if integration.get("Type") == "AWS_PROXY" else None
        action = action or next((a for key, a in REST_ACTIONS.items() if key in uri_text), None)
        templates = integration.get("RequestTemplates")
        templates = templates if isinstance(templates, dict) else {}
        if action == "PutEvents":
            target = bus_named(reader, template_bus_name(templates.get("application/json")))
        else:
            target = named_target(reader, [uri, *templates.values()])
        if action is None or target is None:
            continue
        route = {
            "method": props.get("HttpMethod"),
            "path": path,
            "integration": {"action": action, "target": target},
        }
        route["api_key_required"] = props.get("ApiKeyRequired") in (True, "true")
        routes.append((api, route))
    return routes


def v2_routes(reader: Reader) -> list[tuple[str, dict[str, Any]]]:
    routes = []
    for _name, props in reader.of_type("AWS::ApiGatewayV2::Route"):
        api = reader.node_of.get(referenced(props.get("ApiId")) or "")
        match = _PLACEHOLDER.search(json.dumps(props.get("Target")))
        integration = (
            reader.props(match.group(1)) if match and match.group(1) in reader.resources else {}
        )
        key = props.get("RouteKey")
        if api is None or not integration or not isinstance(key, str):
            continue
        subtype = integration.get("IntegrationSubtype")
        action = V2_ACTIONS.get(subtype) if subtype else "Invoke"
        parameters = integration.get("RequestParameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        if action == "PutEvents":
            target = bus_named(reader, parameters.get("EventBusName"))
        else:
            texts = [integration.get("IntegrationUri"), *parameters.values()]
            target = named_target(reader, texts)
        if action is None or target is None:
            continue
        method, _, path = key.partition(" ")
        if key == "$default":
            method, path = "ANY", "$default"
        routes.append(
            (
                api,
                {
                    "method": method,
                    "path": path,
                    "integration": {"action": action, "target": target},
                },
            )
        )
    return routes


# --- edges -----------------------------------------------------------------------------------


def read_edges(reader: Reader) -> list[dict[str, Any]]:
    edges: dict[str, dict[str, Any]] = {}
    for entry in as_list(reader.meta.get("edges")):
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
            edges[entry["id"]] = {**entry, "config": dict(config)}
    wired = bool(edges)
    read_subscriptions(reader, edges, derive=not wired)
    read_rule_targets(reader, edges, derive=not wired)
    read_event_sources(reader, edges, derive=not wired)
    if not wired:
        derive_bus_edges(reader, edges)
    return [finish_edge(reader, edge) for edge in edges.values()]


def add_edge(edges: dict[str, dict[str, Any]], source: str, target: str) -> dict[str, Any]:
    base = f"{source}-to-{target}"[:76]
    edge_id, counter = base, 2
    while edge_id in edges:
        edge_id = f"{base}-{counter}"
        counter += 1
    edges[edge_id] = {"id": edge_id, "source": source, "target": target, "config": {}}
    return edges[edge_id]


def read_subscriptions(reader: Reader, edges: dict[str, dict[str, Any]], *, derive: bool) -> None:
    for name, props in reader.of_type("AWS::SNS::Subscription"):
        entry = flowyard_of(reader.resources[name])
        if entry.get("copy"):
            continue
        edge = edges.get(entry.get("edge")) if isinstance(entry.get("edge"), str) else None
        if edge is None and derive:
            source = reader.target(props.get("TopicArn"))
            target = reader.target(props.get("Endpoint"))
            edge = add_edge(edges, source, target) if source and target else None
        if edge is None:
            continue
        config = edge["config"]
        config["filter_policy"] = as_object(props.get("FilterPolicy"))
        if "FilterPolicyScope" in props:
            config["filter_policy_scope"] = props["FilterPolicyScope"]
        config["raw_message_delivery"] = props.get("RawMessageDelivery") in (True, "true")
        redrive = as_object(props.get("RedrivePolicy"))
        dlq = (
            reader.target(redrive.get("deadLetterTargetArn")) if isinstance(redrive, dict) else None
        )
        config["dead_letter_queue"] = dlq or ""


def read_rule_targets(reader: Reader, edges: dict[str, dict[str, Any]], *, derive: bool) -> None:
    for name, props in reader.of_type("AWS::Events::Rule"):
        rule = reader.node_of.get(name)
        for target in props.get("Targets") or []:
            if not isinstance(target, dict) or rule is None:
                continue
            edge = edges.get(target.get("Id")) if isinstance(target.get("Id"), str) else None
            if edge is None and derive:
                node = reader.target(target.get("Arn"))
                edge = add_edge(edges, rule, node) if node else None
            if edge is not None:
                edge["config"].update(target_config(target))


def target_config(target: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {"input_mode": "matched_event"}
    if "Input" in target:
        config["input_mode"] = "constant"
        config["input"] = as_object(target["Input"])
    elif "InputPath" in target:
        config["input_mode"] = "input_path"
        config["input_path"] = target["InputPath"]
    elif isinstance(target.get("InputTransformer"), dict):
        transformer = target["InputTransformer"]
        config["input_mode"] = "input_transformer"
        config["input_paths_map"] = as_object(transformer.get("InputPathsMap", {}))
        config["input_template"] = transformer.get("InputTemplate", "")
    sqs = target.get("SqsParameters")
    config["message_group_id"] = sqs.get("MessageGroupId", "") if isinstance(sqs, dict) else ""
    kinesis = target.get("KinesisParameters")
    key = kinesis.get("PartitionKeyPath", "") if isinstance(kinesis, dict) else ""
    config["partition_key_path"] = key
    return config


def derive_bus_edges(reader: Reader, edges: dict[str, dict[str, Any]]) -> None:
    for name, props in reader.of_type("AWS::Events::Rule"):
        rule = reader.node_of.get(name)
        bus = reader.target(props.get("EventBusName")) if "EventBusName" in props else None
        if rule and bus:
            add_edge(edges, bus, rule)


def read_event_sources(reader: Reader, edges: dict[str, dict[str, Any]], *, derive: bool) -> None:
    """Stream and Kafka consumer settings from event source mappings (functions' own batch
    settings stay in the metadata: the mapping clamps them to what each source allows)."""
    for name, props in reader.of_type("AWS::Lambda::EventSourceMapping"):
        entry = flowyard_of(reader.resources[name])
        edge = edges.get(entry.get("edge")) if isinstance(entry.get("edge"), str) else None
        source_arn = props.get("EventSourceArn")
        consumer = referenced(source_arn)
        fan_out = reader.resources.get(consumer, {}).get("Type") == "AWS::Kinesis::StreamConsumer"
        if fan_out:
            source_arn = reader.props(consumer).get("StreamARN")
        if edge is None and derive:
            source, function = reader.target(source_arn), reader.target(props.get("FunctionName"))
            edge = add_edge(edges, source, function) if source and function else None
        if edge is None or edge.get("source") not in reader.nodes:
            continue
        kind = reader.nodes[edge["source"]]["kind"]
        if kind == "stream":
            edge["config"].update(stream_source_config(props, edge["config"], fan_out))
        elif kind == "kafka_topic":
            edge["config"].update(kafka_source_config(props))


def stream_source_config(
    props: dict[str, Any], known: dict[str, Any], fan_out: bool
) -> dict[str, Any]:
    config: dict[str, Any] = {"enhanced_fan_out": fan_out}
    config.update(
        copy_props(props, {"StartingPosition": "starting_position", "BatchSize": "batch_size"})
    )
    stamp = props.get("StartingPositionTimestamp")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        config["starting_timestamp"] = same_instant(known.get("starting_timestamp"), stamp)
    return config


def same_instant(written: Any, seconds: float) -> str:
    """The timestamp as the document wrote it when it is this instant, else ISO-8601 UTC."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(written, str):
        try:
            if datetime.fromisoformat(written.replace("Z", "+00:00")) == moment:
                return written
        except ValueError:
            pass
    return moment.isoformat().replace("+00:00", "Z")


def kafka_source_config(props: dict[str, Any]) -> dict[str, Any]:
    config = copy_props(props, {"BatchSize": "batch_size"})
    reverse = {value: key for key, value in KAFKA_POSITIONS.items()}
    if props.get("StartingPosition") in reverse:
        config["auto_offset_reset"] = reverse[props["StartingPosition"]]
    group = props.get("AmazonManagedKafkaEventSourceConfig")
    config["consumer_group_id"] = (
        group.get("ConsumerGroupId", "") if isinstance(group, dict) else ""
    )
    return config


def finish_edge(reader: Reader, edge: dict[str, Any]) -> dict[str, Any]:
    source_id = edge.get("source")
    source = reader.nodes.get(source_id, {}) if isinstance(source_id, str) else {}
    kind_name = source.get("kind")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    defaults = kind.edge_defaults() if kind else {}
    config = {
        name: value for name, value in edge["config"].items() if defaults.get(name, ...) != value
    }
    finished = {"id": edge["id"], "source": edge.get("source"), "target": edge.get("target")}
    if edge.get("label"):
        finished["label"] = edge["label"]
    finished["config"] = config
    return finished
