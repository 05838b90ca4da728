"""CloudFormation YAML from a topology: the AWS resources it models, the IAM its wiring needs.

Every node with an AWS resource carries ``Metadata: {Flowyard: {id, kind, label, x, y, config}}``
where ``config`` holds only the settings no CloudFormation property expresses; nodes without a
resource of their own (producers, webhooks, Kafka topics, broker destinations…) and every edge
are listed in the template's ``Metadata.Flowyard``. ``cloudformation_import`` reads it back.
Logical ids are derived from node ids in document order, so the same topology always gives the
same template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from runtime.formats.reading import dumps_yaml
from runtime.nodes import KINDS
from runtime.spec import EdgeSpec, NodeSpec, TopologySpec

FORMAT_VERSION = "2010-09-09"
PARTITION_ARN = "arn:${AWS::Partition}"
DEFAULT_BUS_ARN = PARTITION_ARN + ":events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
LAMBDA_BASIC = PARTITION_ARN + ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
LAMBDA_MSK = PARTITION_ARN + ":iam::aws:policy/service-role/AWSLambdaMSKExecutionRole"
INLINE_RUNTIMES = ("python", "nodejs")  # ZipFile code works only for these
MQ_VERSIONS = {"ActiveMQ": "5.18", "RabbitMQ": "3.13"}
MSK_CLUSTER = "MskCluster"
KAFKA_POSITIONS = {"earliest": "TRIM_HORIZON", "latest": "LATEST"}
SERVICE = {
    "lambda": "lambda.amazonaws.com",
    "events": "events.amazonaws.com",
    "states": "states.amazonaws.com",
    "apigateway": "apigateway.amazonaws.com",
}
# Actions a principal needs to send to a node of each kind.
SEND_ACTIONS: dict[str, tuple[str, ...]] = {
    "queue": ("sqs:SendMessage",),
    "topic": ("sns:Publish",),
    "event_bus": ("events:PutEvents",),
    "stream": ("kinesis:PutRecord", "kinesis:PutRecords"),
    "state_machine": ("states:StartExecution", "states:StartSyncExecution"),
    "function": ("lambda:InvokeFunction",),
}


def ref(logical: str) -> dict[str, Any]:
    return {"Ref": logical}


def get_att(logical: str, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, attribute]}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def words(text: str) -> str:
    """Letters and digits only, each word capitalised: orders-queue → OrdersQueue."""
    parts = re.split(r"[^A-Za-z0-9]+", text)
    return "".join(part[:1].upper() + part[1:] for part in parts if part)


def camel(text: str) -> str:
    """A logical id: the words of the text, starting with a letter."""
    name = words(text)
    return name if name[:1].isalpha() else f"N{name}"


class Template:
    """The template being built, with unique logical ids and IAM grants gathered per role."""

    def __init__(self, spec: TopologySpec) -> None:
        self.spec = spec
        self.resources: dict[str, dict[str, Any]] = {}
        self.parameters: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.warnings: list[str] = []
        self.taken: set[str] = set()
        self.logical: dict[str, str] = {}
        # Lookups by id: the spec's own helpers scan every node or edge on each call.
        self.by_id = {node.id: node for node in spec.nodes}
        self.out: dict[str, list[EdgeSpec]] = {node.id: [] for node in spec.nodes}
        self.into: dict[str, list[EdgeSpec]] = {node.id: [] for node in spec.nodes}
        for edge in spec.edges:
            self.out[edge.source].append(edge)
            self.into[edge.target].append(edge)
        self.cached_settings: dict[str, dict[str, Any]] = {}
        for node in spec.nodes:
            self.logical[node.id] = self.claim(camel(node.id))
        self.grants: dict[str, dict[tuple[str, ...], list[Any]]] = {}
        self.queue_senders: dict[str, list[tuple[str, Any]]] = {}
        self.topic_senders: dict[str, list[tuple[str, Any]]] = {}
        self.roles: dict[str, str] = {}
        self.msk_consumers: set[str] = set()
        self.destinations: dict[str, str] = {}

    def claim(self, name: str) -> str:
        name = name[:200]
        candidate, counter = name, 2
        while candidate in self.taken:
            candidate = f"{name}{counter}"
            counter += 1
        self.taken.add(candidate)
        return candidate

    def node(self, node_id: str) -> NodeSpec:
        return self.by_id[node_id]

    def settings(self, node: NodeSpec) -> dict[str, Any]:
        """The node's settings, computed once (callers must not change them)."""
        if node.id not in self.cached_settings:
            self.cached_settings[node.id] = node.settings()
        return self.cached_settings[node.id]

    def add(self, logical: str, kind: str, properties: dict[str, Any], **extra: Any) -> None:
        self.resources[logical] = {"Type": kind, **extra, "Properties": properties}

    def role(self, owner: str) -> str:
        """The logical id of the IAM role a resource runs as, claimed on first use."""
        if owner not in self.roles:
            self.roles[owner] = self.claim(f"{owner}Role")
            self.grants.setdefault(self.roles[owner], {})
        return self.roles[owner]

    def grant(self, role: str, actions: tuple[str, ...], resource: Any) -> None:
        resources = self.grants.setdefault(role, {}).setdefault(actions, [])
        if resource not in resources:
            resources.append(resource)

    def target_arn(self, node_id: str) -> Any:
        """What a sender names to reach this node: an ARN (Ref where Ref gives the ARN)."""
        node = self.node(node_id)
        logical = self.logical[node_id]
        if node.kind == "event_bus" and self.settings(node)["bus_name"] == "default":
            return sub(DEFAULT_BUS_ARN)
        if node.kind in ("topic", "state_machine"):
            return ref(logical)
        return get_att(logical)

    def grant_send(self, role: str, node_id: str) -> bool:
        """Let a role send to a node; False when the node's kind takes no IAM-authorised send."""
        actions = SEND_ACTIONS.get(self.node(node_id).kind)
        if actions:
            self.grant(role, actions, self.target_arn(node_id))
        return actions is not None


def metadata(node: NodeSpec, consumed: set[str]) -> dict[str, Any]:
    """Node identity plus the non-default settings no property carries."""
    defaults = KINDS[node.kind].defaults()
    extras = {
        name: value
        for name, value in node.settings().items()
        if name not in consumed and value != defaults.get(name)
    }
    entry: dict[str, Any] = {
        "id": node.id,
        "kind": node.kind,
        "label": node.label,
        "x": node.x,
        "y": node.y,
    }
    if extras:
        entry["config"] = extras
    return {"Flowyard": entry}


def canonical_node(node: NodeSpec) -> dict[str, Any]:
    """A node as the document has it, minus settings equal to their defaults."""
    entry = node.to_dict()
    defaults = KINDS[node.kind].defaults()
    entry["config"] = {k: v for k, v in entry["config"].items() if defaults.get(k, ...) != v}
    return entry


def canonical_edge(spec: TopologySpec, edge: EdgeSpec) -> dict[str, Any]:
    entry = edge.to_dict()
    defaults = KINDS[spec.node(edge.source).kind].edge_defaults()
    entry["config"] = {k: v for k, v in entry["config"].items() if defaults.get(k, ...) != v}
    return entry


def part_of(node: NodeSpec) -> dict[str, Any]:
    return {"Flowyard": {"part_of": node.id}}


# --- one writer per kind ---------------------------------------------------------------------


def write_queue(t: Template, node: NodeSpec) -> None:
    s = t.settings(node)
    props: dict[str, Any] = {}
    consumed = {
        "fifo",
        "visibility_timeout",
        "delay_seconds",
        "retention_period",
        "max_message_size",
        "receive_wait_time",
        "content_based_deduplication",
        "deduplication_scope",
        "fifo_throughput_limit",
    }
    if s["fifo"]:
        # A FIFO queue needs a name ending in .fifo; the stack name keeps it unique.
        props["QueueName"] = sub("${AWS::StackName}-" + node.id[:50] + ".fifo")
        props["FifoQueue"] = True
        props["ContentBasedDeduplication"] = s["content_based_deduplication"]
        props["DeduplicationScope"] = s["deduplication_scope"]
        props["FifoThroughputLimit"] = s["fifo_throughput_limit"]
    props["VisibilityTimeout"] = s["visibility_timeout"]
    props["DelaySeconds"] = s["delay_seconds"]
    props["MessageRetentionPeriod"] = s["retention_period"]
    props["MaximumMessageSize"] = s["max_message_size"]
    props["ReceiveMessageWaitTimeSeconds"] = s["receive_wait_time"]
    if s["dead_letter_queue"] in t.logical:
        props["RedrivePolicy"] = {
            "deadLetterTargetArn": get_att(t.logical[s["dead_letter_queue"]]),
            "maxReceiveCount": s["max_receive_count"],
        }
        consumed |= {"dead_letter_queue", "max_receive_count"}
    logical = t.logical[node.id]
    t.add(logical, "AWS::SQS::Queue", props, Metadata=metadata(node, consumed))
    t.outputs[f"{logical}Url"] = {"Description": f"{node.label} URL", "Value": ref(logical)}
    t.outputs[f"{logical}Arn"] = {"Description": f"{node.label} ARN", "Value": get_att(logical)}


def write_topic(t: Template, node: NodeSpec) -> None:
    s = t.settings(node)
    props: dict[str, Any] = {}
    consumed = {
        "fifo",
        "content_based_deduplication",
        "fifo_throughput_scope",
        "display_name",
    }
    if s["fifo"]:
        props["TopicName"] = sub("${AWS::StackName}-" + node.id[:50] + ".fifo")
        props["FifoTopic"] = True
        props["ContentBasedDeduplication"] = s["content_based_deduplication"]
        props["FifoThroughputScope"] = s["fifo_throughput_scope"]
    if s["display_name"]:
        props["DisplayName"] = s["display_name"]
    logical = t.logical[node.id]
    t.add(logical, "AWS::SNS::Topic", props, Metadata=metadata(node, consumed))
    t.outputs[f"{logical}Arn"] = {"Description": f"{node.label} ARN", "Value": ref(logical)}
    for edge in t.out[node.id]:
        write_subscriptions(t, node, edge)


PROTOCOLS = {"queue": "sqs", "function": "lambda", "email": "email", "sms": "sms"}


def write_subscriptions(t: Template, topic: NodeSpec, edge: EdgeSpec) -> None:
    target = t.node(edge.target)
    config = {**KINDS["topic"].edge_defaults(), **edge.config}
    endpoints: list[tuple[str, Any]] = []
    if target.kind in ("queue", "function"):
        endpoints = [(PROTOCOLS[target.kind], get_att(t.logical[target.id]))]
    elif target.kind == "webhook":
        url = t.settings(target)["url"]
        endpoints = [("https" if url.startswith("https:") else "http", url)]
    elif target.kind == "email":
        endpoints = [("email", address) for address in t.settings(target)["to"]]
    elif target.kind == "sms":
        endpoints = [("sms", number) for number in t.settings(target)["phone_numbers"]]
    else:
        t.warnings.append(f"{edge.id}: SNS cannot deliver to a {target.kind}; kept as metadata")
        return
    topic_logical = t.logical[topic.id]
    for index, (protocol, endpoint) in enumerate(endpoints):
        props: dict[str, Any] = {
            "TopicArn": ref(topic_logical),
            "Protocol": protocol,
            "Endpoint": endpoint,
        }
        if config["filter_policy"] is not None:
            props["FilterPolicy"] = config["filter_policy"]
            props["FilterPolicyScope"] = config["filter_policy_scope"]
        if config["raw_message_delivery"] and protocol in ("sqs", "http", "https"):
            props["RawMessageDelivery"] = True
        if protocol in ("http", "https"):
            props["DeliveryPolicy"] = http_delivery_policy(t.settings(topic))
        dlq = config["dead_letter_queue"]
        if dlq in t.logical:
            props["RedrivePolicy"] = {"deadLetterTargetArn": get_att(t.logical[dlq])}
            t.queue_senders.setdefault(dlq, []).append(("sns", ref(topic_logical)))
        suffix = f"{index + 1}" if index else ""
        logical = t.claim(f"{topic_logical}Sub{camel(edge.id)}{suffix}")
        entry = {"edge": edge.id} if not index else {"edge": edge.id, "copy": index}
        t.add(logical, "AWS::SNS::Subscription", props, Metadata={"Flowyard": entry})
    if target.kind == "queue":
        t.queue_senders.setdefault(target.id, []).append(("sns", ref(topic_logical)))
    elif target.kind == "function":
        permission(t, target.id, "sns.amazonaws.com", ref(topic_logical), f"From{topic_logical}")


def http_delivery_policy(s: dict[str, Any]) -> dict[str, Any]:
    """The topic's HTTP/S retry and throttle settings, as a webhook subscription carries them."""
    policy: dict[str, Any] = {
        "healthyRetryPolicy": {
            "numRetries": s["num_retries"],
            "numNoDelayRetries": s["num_no_delay_retries"],
            "numMinDelayRetries": s["num_min_delay_retries"],
            "numMaxDelayRetries": s["num_max_delay_retries"],
            "minDelayTarget": s["min_delay_target"],
            "maxDelayTarget": s["max_delay_target"],
            "backoffFunction": s["backoff_function"],
        }
    }
    if s["max_receives_per_second"]:
        policy["throttlePolicy"] = {"maxReceivesPerSecond": s["max_receives_per_second"]}
    return policy


def permission(t: Template, function_id: str, principal: str, source: Any, suffix: str) -> None:
    function = t.logical[function_id]
    t.add(
        t.claim(f"{function}Permission{suffix}"),
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": ref(function),
            "Principal": principal,
            "SourceArn": source,
        },
    )


def write_event_bus(t: Template, node: NodeSpec) -> bool:
    """A custom bus resource; False for the default bus, which every account already has."""
    s = t.settings(node)
    logical = t.logical[node.id]
    if s["archive_enabled"]:
        archive: dict[str, Any] = {
            "SourceArn": t.target_arn(node.id),
            "RetentionDays": s["archive_retention_days"],
        }
        if s["archive_pattern"] is not None:
            archive["EventPattern"] = s["archive_pattern"]
        t.add(t.claim(f"{logical}Archive"), "AWS::Events::Archive", archive, Metadata=part_of(node))
    if s["bus_name"] == "default":
        return False
    props: dict[str, Any] = {"Name": s["bus_name"]}
    if s["bus_name"].startswith("aws.partner/"):
        props["EventSourceName"] = s["bus_name"]
    consumed = {"bus_name", "archive_enabled", "archive_pattern", "archive_retention_days"}
    t.add(logical, "AWS::Events::EventBus", props, Metadata=metadata(node, consumed))
    t.outputs[f"{logical}Arn"] = {"Description": f"{node.label} ARN", "Value": get_att(logical)}
    return True


def write_rule(t: Template, node: NodeSpec) -> None:
    s = t.settings(node)
    logical = t.logical[node.id]
    props: dict[str, Any] = {}
    buses = [t.node(edge.source) for edge in t.into[node.id]]
    bus = next((b for b in buses if b.kind == "event_bus"), None)
    if bus is not None and t.settings(bus)["bus_name"] != "default":
        props["EventBusName"] = ref(t.logical[bus.id])
    if s["event_pattern"] is not None:
        props["EventPattern"] = s["event_pattern"]
    if s["schedule_expression"]:
        props["ScheduleExpression"] = s["schedule_expression"]
    props["State"] = s["state"]
    if s["description"]:
        props["Description"] = s["description"]
    consumed = {
        "event_pattern",
        "schedule_expression",
        "state",
        "description",
        "max_retry_attempts",
        "max_event_age",
        "dead_letter_queue",
    }
    wired = (rule_target(t, node, edge) for edge in t.out[node.id])
    targets = [target for target in wired if target]
    if targets:
        props["Targets"] = targets
    else:
        # Without targets the retry policy has nowhere to live; keep it in metadata.
        consumed -= {"max_retry_attempts", "max_event_age", "dead_letter_queue"}
    t.add(logical, "AWS::Events::Rule", props, Metadata=metadata(node, consumed))


def rule_target(t: Template, rule: NodeSpec, edge: EdgeSpec) -> dict[str, Any] | None:
    s = t.settings(rule)
    config = {**KINDS["rule"].edge_defaults(), **edge.config}
    target = t.node(edge.target)
    rule_logical = t.logical[rule.id]
    if target.kind == "webhook":
        destination = api_destination(t, target)
        if destination is None:
            t.warnings.append(f"{edge.id}: API destinations need an https:// URL; kept as metadata")
            return None
        entry: dict[str, Any] = {"Id": target_id(edge.id), "Arn": get_att(destination)}
        role = t.role(rule_logical)
        entry["RoleArn"] = get_att(role)
        t.grant(role, ("events:InvokeApiDestination",), get_att(destination))
        headers = t.settings(target)["headers"]
        if headers:
            entry["HttpParameters"] = {"HeaderParameters": headers}
    else:
        entry = {"Id": target_id(edge.id), "Arn": t.target_arn(target.id)}
    if target.kind in ("state_machine", "event_bus", "stream"):
        role = t.role(rule_logical)
        entry["RoleArn"] = get_att(role)
        t.grant_send(role, target.id)
    elif target.kind == "queue":
        t.queue_senders.setdefault(target.id, []).append(("events", get_att(rule_logical)))
    elif target.kind == "topic":
        t.topic_senders.setdefault(target.id, []).append(("events", get_att(rule_logical)))
    elif target.kind == "function":
        source = get_att(rule_logical)
        permission(t, target.id, "events.amazonaws.com", source, f"From{rule_logical}")
    mode = config["input_mode"]
    if mode == "constant":
        entry["Input"] = json.dumps(config["input"], ensure_ascii=False)
    elif mode == "input_path":
        entry["InputPath"] = config["input_path"]
    elif mode == "input_transformer":
        entry["InputTransformer"] = {
            "InputPathsMap": config["input_paths_map"],
            "InputTemplate": config["input_template"],
        }
    if config["message_group_id"]:
        entry["SqsParameters"] = {"MessageGroupId": config["message_group_id"]}
    if config["partition_key_path"]:
        entry["KinesisParameters"] = {"PartitionKeyPath": config["partition_key_path"]}
    entry["RetryPolicy"] = {
        "MaximumRetryAttempts": s["max_retry_attempts"],
        "MaximumEventAgeInSeconds": s["max_event_age"],
    }
    if s["dead_letter_queue"] in t.logical:
        entry["DeadLetterConfig"] = {"Arn": get_att(t.logical[s["dead_letter_queue"]])}
        t.queue_senders.setdefault(s["dead_letter_queue"], []).append(
            ("events", get_att(rule_logical))
        )
    return entry


def api_destination(t: Template, webhook: NodeSpec) -> str | None:
    """The EventBridge API destination (and its connection) for a webhook, made once."""
    settings = t.settings(webhook)
    if not settings["url"].startswith("https://"):
        return None
    if webhook.id in t.destinations:
        return t.destinations[webhook.id]
    logical = t.logical[webhook.id]
    connection = t.claim(f"{logical}Connection")
    t.parameters.setdefault(
        "WebhookApiKey",
        {
            "Type": "String",
            "NoEcho": True,
            "Description": "x-api-key header value EventBridge sends to webhook targets",
        },
    )
    t.add(
        connection,
        "AWS::Events::Connection",
        {
            "AuthorizationType": "API_KEY",
            "AuthParameters": {
                "ApiKeyAuthParameters": {
                    "ApiKeyName": "x-api-key",
                    "ApiKeyValue": ref("WebhookApiKey"),
                }
            },
        },
        Metadata=part_of(webhook),
    )
    destination = t.claim(f"{logical}Destination")
    t.add(
        destination,
        "AWS::Events::ApiDestination",
        {
            "ConnectionArn": get_att(connection),
            "InvocationEndpoint": settings["url"],
            "HttpMethod": settings["method"],
        },
        Metadata=part_of(webhook),
    )
    t.destinations[webhook.id] = destination
    return destination


def target_id(edge_id: str) -> str:
    """A rule target Id (at most 64 of letters, digits, . - _) from an edge id."""
    return edge_id[:64]


def write_stream(t: Template, node: NodeSpec) -> None:
    s = t.settings(node)
    props: dict[str, Any] = {"StreamModeDetails": {"StreamMode": s["capacity_mode"]}}
    consumed = {"capacity_mode", "retention_hours"}
    if s["capacity_mode"] == "PROVISIONED":
        props["ShardCount"] = s["shard_count"]
        consumed.add("shard_count")
    props["RetentionPeriodHours"] = s["retention_hours"]
    logical = t.logical[node.id]
    t.add(logical, "AWS::Kinesis::Stream", props, Metadata=metadata(node, consumed))
    t.outputs[f"{logical}Arn"] = {"Description": f"{node.label} ARN", "Value": get_att(logical)}


STUBS = {
    "python": "def handler(event, context):\n"
    "    # Flowyard placeholder for node {node_id}: replace with the real code.\n"
    "    return event\n",
    "nodejs": "exports.handler = async (event) => {{\n"
    "  // Flowyard placeholder for node {node_id}: replace with the real code.\n"
    "  return event;\n"
    "}};\n",
}
HANDLERS = {"java21": "example.Handler::handleRequest", "dotnet8": "Function::Function.Handler"}


def write_function(t: Template, node: NodeSpec) -> None:
    s = t.settings(node)
    logical = t.logical[node.id]
    role = t.role(logical)
    family = next((name for name in INLINE_RUNTIMES if s["runtime"].startswith(name)), None)
    if family:
        code: dict[str, Any] = {"ZipFile": STUBS[family].format(node_id=node.id)}
    else:
        t.parameters.setdefault(
            "CodeBucket",
            {"Type": "String", "Description": "S3 bucket holding the code of compiled functions"},
        )
        code = {"S3Bucket": ref("CodeBucket"), "S3Key": f"{node.id}.zip"}
    props: dict[str, Any] = {
        "Description": f"Flowyard placeholder for {node.id}",
        "Runtime": s["runtime"],
        "Handler": HANDLERS.get(s["runtime"], "index.handler"),
        "Code": code,
        "MemorySize": s["memory"],
        "Timeout": s["timeout"],
        "Role": get_att(role),
    }
    if s["reserved_concurrency"]:
        props["ReservedConcurrentExecutions"] = s["reserved_concurrency"]
    consumed = {"runtime", "memory", "timeout", "reserved_concurrency"}
    consumed |= write_invoke_config(t, node)
    t.add(logical, "AWS::Lambda::Function", props, Metadata=metadata(node, consumed))
    for edge in t.out[node.id]:
        t.grant_send(role, edge.target)


def write_invoke_config(t: Template, node: NodeSpec) -> set[str]:
    s = t.settings(node)
    defaults = KINDS["function"].defaults()
    names = ("max_retry_attempts", "max_event_age", "on_failure")
    if all(s[name] == defaults[name] for name in names):
        return set(names)
    logical = t.logical[node.id]
    props: dict[str, Any] = {
        "FunctionName": ref(logical),
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": s["max_retry_attempts"],
        "MaximumEventAgeInSeconds": s["max_event_age"],
    }
    if s["on_failure"] in t.logical:
        destination = t.target_arn(s["on_failure"])
        props["DestinationConfig"] = {"OnFailure": {"Destination": destination}}
        t.grant_send(t.role(logical), s["on_failure"])
        names_done = set(names)
    else:
        names_done = {"max_retry_attempts", "max_event_age"}
    t.add(t.claim(f"{logical}InvokeConfig"), "AWS::Lambda::EventInvokeConfig", props)
    return names_done


def write_state_machine(t: Template, node: NodeSpec) -> None:
    s = t.settings(node)
    logical = t.logical[node.id]
    role = t.role(logical)
    definition, substitutions, originals = substitute_nodes(t, s["definition"])
    props: dict[str, Any] = {
        "StateMachineType": s["type"],
        "Definition": definition,
        "RoleArn": get_att(role),
    }
    if substitutions:
        props["DefinitionSubstitutions"] = substitutions
    if s["log_level"] != "OFF":
        logs = t.claim(f"{logical}Logs")
        t.add(logs, "AWS::Logs::LogGroup", {"RetentionInDays": 14}, Metadata=part_of(node))
        props["LoggingConfiguration"] = {
            "Level": s["log_level"],
            "IncludeExecutionData": True,
            "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": get_att(logs)}}],
        }
        delivery = (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        )
        t.grant(role, delivery, "*")
    for edge in t.out[node.id]:
        t.grant_send(role, edge.target)
    consumed = {"definition", "type", "log_level"}
    entry = metadata(node, consumed)
    if originals:
        # What each placeholder stood for, so an import restores the definition exactly.
        entry["Flowyard"]["substitutions"] = originals
    t.add(logical, "AWS::StepFunctions::StateMachine", props, Metadata=entry)
    t.outputs[f"{logical}Arn"] = {"Description": f"{node.label} ARN", "Value": ref(logical)}


# AppSync authorisers other than API keys and IAM need a resource the topology does not model.
AUTH_PARAMETERS: dict[str, tuple[str, str, str]] = {
    "AMAZON_COGNITO_USER_POOLS": ("CognitoUserPoolId", "UserPoolConfig", "UserPoolId"),
    "OPENID_CONNECT": ("OidcIssuer", "OpenIDConnectConfig", "Issuer"),
    "AWS_LAMBDA": ("AppSyncAuthorizerArn", "LambdaAuthorizerConfig", "AuthorizerUri"),
}


def write_graphql_api(t: Template, node: NodeSpec) -> None:
    s = t.settings(node)
    logical = t.logical[node.id]
    mode = s["auth_mode"]
    props: dict[str, Any] = {"Name": node.label or node.id, "AuthenticationType": mode}
    if mode in AUTH_PARAMETERS:
        parameter, block, key = AUTH_PARAMETERS[mode]
        t.parameters.setdefault(
            parameter, {"Type": "String", "Description": f"{key} for AppSync {mode} auth"}
        )
        props[block] = {key: ref(parameter)}
        if mode == "AMAZON_COGNITO_USER_POOLS":
            props[block].update({"AwsRegion": ref("AWS::Region"), "DefaultAction": "ALLOW"})
    t.add(
        logical,
        "AWS::AppSync::GraphQLApi",
        props,
        Metadata=metadata(node, {"auth_mode", "schema"}),
    )
    t.add(
        t.claim(f"{logical}Schema"),
        "AWS::AppSync::GraphQLSchema",
        {"ApiId": get_att(logical, "ApiId"), "Definition": s["schema"]},
        Metadata=part_of(node),
    )
    if mode == "API_KEY":
        t.add(
            t.claim(f"{logical}Key"),
            "AWS::AppSync::ApiKey",
            {"ApiId": get_att(logical, "ApiId")},
            Metadata=part_of(node),
        )
    if s["mutations"]:
        t.warnings.append(
            f"{node.id}: mutation targets need AppSync data sources and resolvers; kept as metadata"
        )
    t.outputs[f"{logical}Url"] = {
        "Description": f"{node.label} GraphQL URL",
        "Value": get_att(logical, "GraphQLUrl"),
    }


# Task fields that name a node, with the kind named and how the template refers to it.
NODE_FIELDS: dict[str, tuple[str, str]] = {
    "Resource": ("function", "Arn"),
    "FunctionName": ("function", "Arn"),
    "QueueUrl": ("queue", "Url"),
    "TopicArn": ("topic", "Arn"),
    "StateMachineArn": ("state_machine", "Arn"),
}
_LAMBDA_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([A-Za-z0-9_.\-]+)")


def named_node(t: Template, field: str, text: str) -> str | None:
    """The node a Task field names, by Flowyard's rules: an ARN, URL or plain id ending in it."""
    kind, _ = NODE_FIELDS[field]
    if field == "Resource":
        match = _LAMBDA_ARN.fullmatch(text)
        name = match.group(1) if match else None
    else:
        name = re.split(r"[:/]", text)[-1]
    node = t.by_id.get(name) if name else None
    return name if node is not None and node.kind == kind else None


def substitute_nodes(t: Template, definition: Any) -> tuple[Any, dict[str, Any], dict[str, str]]:
    """The definition with node references as ${placeholders}, their values, and originals.

    A definition written for Flowyard names nodes with made-up ARNs; the deployed machine needs
    the ARNs and URLs of the resources this template creates.
    """
    substitutions: dict[str, Any] = {}
    originals: dict[str, str] = {}

    def visit(value: Any) -> Any:
        if isinstance(value, list):
            return [visit(item) for item in value]
        if not isinstance(value, dict):
            return value
        copy = {}
        for key, item in value.items():
            node_id = (
                named_node(t, key, item) if key in NODE_FIELDS and isinstance(item, str) else None
            )
            if node_id is None:
                copy[key] = visit(item)
                continue
            logical, attribute = t.logical[node_id], NODE_FIELDS[key][1]
            name = f"{logical}{attribute}"
            substitutions[name] = (
                ref(logical)
                if attribute == "Url"
                or t.by_id[node_id].kind
                in (
                    "topic",
                    "state_machine",
                )
                else get_att(logical)
            )
            placeholder = "${" + name + "}"
            if originals.get(placeholder, item) != item:
                copy[key] = item  # two spellings of one node: keep the second as written
                continue
            originals[placeholder] = item
            copy[key] = placeholder
        return copy

    return visit(definition), substitutions, originals


def write_log(t: Template, node: NodeSpec) -> None:
    logical = t.logical[node.id]
    props = {"RetentionInDays": 14}
    t.add(logical, "AWS::Logs::LogGroup", props, Metadata=metadata(node, set()))


# --- API Gateway -----------------------------------------------------------------------------


# Settings the API's stage carries; routes, timeouts and schemas stay in the metadata.
STAGE_FIELDS = ("stage", "throttle_rate", "throttle_burst", "stage_variables")
CORS_FIELDS = ("cors_allow_origins", "cors_allow_methods", "cors_allow_headers")


def write_http_api(t: Template, node: NodeSpec) -> None:
    s = t.settings(node)
    logical = t.logical[node.id]
    if s["api_type"] == "REST":
        write_rest_api(t, node, logical, s)
    else:
        write_http_v2_api(t, node, logical, s)


def integration_target(t: Template, route: dict[str, Any]) -> NodeSpec | None:
    target = route["integration"]["target"]
    return t.node(target) if target in t.logical else None


def write_rest_api(t: Template, node: NodeSpec, logical: str, s: dict[str, Any]) -> None:
    t.add(
        logical,
        "AWS::ApiGateway::RestApi",
        {"Name": node.label or node.id, "EndpointConfiguration": {"Types": ["REGIONAL"]}},
        Metadata=metadata(node, {"api_type"}),
    )
    role = t.role(logical)
    resources: dict[str, Any] = {"": get_att(logical, "RootResourceId")}
    methods: list[str] = []
    route_throttles: list[dict[str, Any]] = []
    for route in s["routes"]:
        target = integration_target(t, route)
        if target is None:
            continue
        parent = rest_resource(t, node, logical, route["path"], resources)
        method = t.claim(f"{logical}{route_name(route) or 'Root'}")
        props: dict[str, Any] = {
            "RestApiId": ref(logical),
            "ResourceId": parent,
            "HttpMethod": route["method"],
            "AuthorizationType": "NONE",
            "ApiKeyRequired": bool(route.get("api_key_required", False)),
            "Integration": rest_integration(t, node, route, target, role),
            "MethodResponses": [{"StatusCode": "200"}],
        }
        if route.get("required_parameters"):
            props["RequestParameters"] = {
                f"method.request.{name}": True for name in route["required_parameters"]
            }
        if route.get("throttle"):
            route_throttles.append(route_method_setting(route))
        t.add(method, "AWS::ApiGateway::Method", props, Metadata=part_of(node))
        methods.append(method)
    if not methods:
        return  # no stage without methods: its settings stay in the metadata
    deployment = t.claim(f"{logical}Deployment")
    t.resources[deployment] = {
        "Type": "AWS::ApiGateway::Deployment",
        "DependsOn": methods,
        "Metadata": part_of(node),
        "Properties": {"RestApiId": ref(logical)},
    }
    stage_props: dict[str, Any] = {
        "RestApiId": ref(logical),
        "DeploymentId": ref(deployment),
        "StageName": s["stage"],
        "MethodSettings": [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": s["throttle_rate"],
                "ThrottlingBurstLimit": s["throttle_burst"],
            },
            *route_throttles,  # after the stage default, which the importer reads first
        ],
    }
    if s["stage_variables"]:
        stage_props["Variables"] = s["stage_variables"]
    stage = t.claim(f"{logical}Stage")
    t.add(stage, "AWS::ApiGateway::Stage", stage_props, Metadata=part_of(node))
    consumed = {"api_type", *STAGE_FIELDS} | write_usage_plan(t, node, logical, stage, s)
    t.resources[logical]["Metadata"] = metadata(node, consumed)
    t.outputs[f"{logical}Endpoint"] = {
        "Description": f"{node.label} endpoint",
        "Value": sub(
            "https://${" + logical + "}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + s["stage"]
        ),
    }


def route_method_setting(route: dict[str, Any]) -> dict[str, Any]:
    """A route's method-level throttle as a stage MethodSetting (``/`` in the path is ``~1``)."""
    return {
        "ResourcePath": "/" + route["path"].replace("/", "~1"),
        "HttpMethod": "*" if route["method"] == "ANY" else route["method"],
        "ThrottlingRateLimit": route["throttle"]["rate"],
        "ThrottlingBurstLimit": route["throttle"]["burst"],
    }


def rest_resource(
    t: Template, node: NodeSpec, api: str, path: str, resources: dict[str, Any]
) -> Any:
    """The id of the API resource for a path, creating each missing segment's resource."""
    so_far = ""
    for segment in [part for part in path.split("/") if part]:
        parent = resources[so_far]
        so_far = f"{so_far}/{segment}"
        if so_far not in resources:
            logical = t.claim(f"{api}Resource{camel(so_far)}")
            t.add(
                logical,
                "AWS::ApiGateway::Resource",
                {"RestApiId": ref(api), "ParentId": parent, "PathPart": segment},
                Metadata=part_of(node),
            )
            resources[so_far] = ref(logical)
    return resources[so_far]


def rest_integration(
    t: Template, api: NodeSpec, route: dict[str, Any], target: NodeSpec, role: str
) -> dict[str, Any]:
    action = route["integration"]["action"]
    target_logical = t.logical[target.id]
    if action == "Invoke":
        arn = "${" + target_logical + ".Arn}"
        permission(
            t,
            target.id,
            "apigateway.amazonaws.com",
            sub(
                PARTITION_ARN
                + ":execute-api:${AWS::Region}:${AWS::AccountId}:${"
                + t.logical[api.id]
                + "}/*"
            ),
            f"From{t.logical[api.id]}",
        )
        return {
            "Type": "AWS_PROXY",
            "IntegrationHttpMethod": "POST",
            "Uri": sub(
                PARTITION_ARN
                + ":apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                + arn
                + "/invocations"
            ),
        }
    t.grant_send(role, target.id)
    service, uri_action, template, headers = rest_request(t, api, route, target)
    parameters = {
        f"integration.request.header.{name}": f"'{value}'" for name, value in headers.items()
    }
    return {
        "Type": "AWS",
        "IntegrationHttpMethod": "POST",
        "Credentials": get_att(role),
        "Uri": sub(PARTITION_ARN + f":apigateway:${{AWS::Region}}:{service}:{uri_action}"),
        "PassthroughBehavior": "NEVER",
        "RequestParameters": parameters,
        "RequestTemplates": {"application/json": template},
        "IntegrationResponses": [{"StatusCode": "200"}],
    }


AMZ_JSON = "application/x-amz-json-1.1"


def rest_request(
    t: Template, api: NodeSpec, route: dict[str, Any], target: NodeSpec
) -> tuple[str, str, Any, dict[str, str]]:
    """(service, URI action, request template, headers) of an AWS-service integration."""
    action = route["integration"]["action"]
    logical = t.logical[target.id]
    if action == "SendMessage":
        return (
            "sqs",
            "path/${AWS::AccountId}/${" + logical + ".QueueName}",
            "Action=SendMessage&MessageBody=$util.urlEncode($input.body)",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
    if action == "Publish":
        return (
            "sns",
            "action/Publish",
            sub(
                "Action=Publish&TopicArn=$util.urlEncode('${"
                + logical
                + "}')&Message=$util.urlEncode($input.body)"
            ),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
    if action == "PutEvents":
        bus = t.settings(target)["bus_name"]
        entry = {
            **event_names(t, api, route),
            "Detail": "$util.escapeJavaScript($input.body)",
            "EventBusName": bus,
        }
        body = json.dumps({"Entries": [entry]})
        return (
            "events",
            "action/PutEvents",
            body,
            {
                "X-Amz-Target": "AWSEvents.PutEvents",
                "Content-Type": AMZ_JSON,
            },
        )
    if action == "PutRecord":
        body = (
            '{"StreamName": "${' + logical + '}", "Data": "$util.base64Encode($input.body)", '
            '"PartitionKey": "$context.requestId"}'
        )
        return (
            "kinesis",
            "action/PutRecord",
            sub(body),
            {
                "X-Amz-Target": "Kinesis_20131202.PutRecord",
                "Content-Type": AMZ_JSON,
            },
        )
    body = (
        '{"stateMachineArn": "${' + logical + '}", "input": "$util.escapeJavaScript($input.body)"}'
    )
    return "states", f"action/{action}", sub(body), {"Content-Type": AMZ_JSON}


def write_usage_plan(
    t: Template, node: NodeSpec, api: str, stage: str, s: dict[str, Any]
) -> set[str]:
    """The usage plan and keys of a REST API; returns the settings they carry."""
    if not s["api_keys"]:
        return set()
    consumed = {"api_keys"}
    plan: dict[str, Any] = {"ApiStages": [{"ApiId": ref(api), "Stage": ref(stage)}]}
    if s["usage_plan_rate"] or s["usage_plan_burst"]:
        plan["Throttle"] = {"RateLimit": s["usage_plan_rate"], "BurstLimit": s["usage_plan_burst"]}
        consumed |= {"usage_plan_rate", "usage_plan_burst"}
    if s["quota_limit"]:
        plan["Quota"] = {"Limit": s["quota_limit"], "Period": s["quota_period"]}
        consumed |= {"quota_limit", "quota_period"}
    plan_logical = t.claim(f"{api}UsagePlan")
    t.add(plan_logical, "AWS::ApiGateway::UsagePlan", plan, Metadata=part_of(node))
    for index, value in enumerate(s["api_keys"], start=1):
        key = t.claim(f"{api}ApiKey{index}")
        t.add(
            key,
            "AWS::ApiGateway::ApiKey",
            {"Enabled": True, "Value": value},
            Metadata=part_of(node),
        )
        t.add(
            t.claim(f"{api}UsagePlanKey{index}"),
            "AWS::ApiGateway::UsagePlanKey",
            {"KeyId": ref(key), "KeyType": "API_KEY", "UsagePlanId": ref(plan_logical)},
            Metadata=part_of(node),
        )
    return consumed


V2_SUBTYPES = {
    "PutEvents": "EventBridge-PutEvents",
    "SendMessage": "SQS-SendMessage",
    "PutRecord": "Kinesis-PutRecord",
    "StartExecution": "StepFunctions-StartExecution",
    "StartSyncExecution": "StepFunctions-StartSyncExecution",
}


def write_http_v2_api(t: Template, node: NodeSpec, logical: str, s: dict[str, Any]) -> None:
    props: dict[str, Any] = {"Name": node.label or node.id, "ProtocolType": "HTTP"}
    cors = {
        "AllowOrigins": s["cors_allow_origins"],
        "AllowMethods": s["cors_allow_methods"],
        "AllowHeaders": s["cors_allow_headers"],
    }
    if any(cors.values()):
        props["CorsConfiguration"] = {key: value for key, value in cors.items() if value}
    consumed = {"api_type", *STAGE_FIELDS, *CORS_FIELDS}
    t.add(logical, "AWS::ApiGatewayV2::Api", props, Metadata=metadata(node, consumed))
    role = t.role(logical)
    for route in s["routes"]:
        target = integration_target(t, route)
        if target is None:
            continue
        integration = v2_integration(t, node, logical, route, target, role)
        if integration is None:
            continue
        name = t.claim(f"{logical}Integration{route_name(route)}")
        t.add(name, "AWS::ApiGatewayV2::Integration", integration, Metadata=part_of(node))
        key = "$default" if route["path"] == "$default" else f"{route['method']} {route['path']}"
        t.add(
            t.claim(f"{logical}Route{route_name(route)}"),
            "AWS::ApiGatewayV2::Route",
            {"ApiId": ref(logical), "RouteKey": key, "Target": sub("integrations/${" + name + "}")},
            Metadata=part_of(node),
        )
    stage: dict[str, Any] = {
        "ApiId": ref(logical),
        "StageName": s["stage"],
        "AutoDeploy": True,
        "DefaultRouteSettings": {
            "ThrottlingRateLimit": s["throttle_rate"],
            "ThrottlingBurstLimit": s["throttle_burst"],
        },
    }
    if s["stage_variables"]:
        stage["StageVariables"] = s["stage_variables"]
    t.add(t.claim(f"{logical}Stage"), "AWS::ApiGatewayV2::Stage", stage, Metadata=part_of(node))
    suffix = "" if s["stage"] == "$default" else f"/{s['stage']}"
    t.outputs[f"{logical}Endpoint"] = {
        "Description": f"{node.label} endpoint",
        "Value": sub("${" + logical + ".ApiEndpoint}" + suffix),
    }


def v2_integration(
    t: Template, api: NodeSpec, logical: str, route: dict[str, Any], target: NodeSpec, role: str
) -> dict[str, Any] | None:
    action = route["integration"]["action"]
    target_logical = t.logical[target.id]
    if action == "Invoke":
        permission(
            t,
            target.id,
            "apigateway.amazonaws.com",
            sub(
                PARTITION_ARN + ":execute-api:${AWS::Region}:${AWS::AccountId}:${" + logical + "}/*"
            ),
            f"From{logical}",
        )
        return {
            "ApiId": ref(logical),
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": get_att(target_logical),
            "PayloadFormatVersion": "2.0",
            "TimeoutInMillis": route_timeout(api),
        }
    if action not in V2_SUBTYPES:
        t.warnings.append(
            f"{api.id}: {route['method']} {route['path']}: HTTP APIs have no {action} "
            "integration; the route is kept as metadata"
        )
        return None
    t.grant_send(role, target.id)
    parameters: dict[str, Any] = {
        "SendMessage": {"QueueUrl": ref(target_logical), "MessageBody": "$request.body"},
        "PutEvents": {
            **event_names(t, api, route),
            "Detail": "$request.body",
            "EventBusName": t.settings(target)["bus_name"] if target.kind == "event_bus" else "",
        },
        "PutRecord": {
            "StreamName": ref(target_logical),
            "Data": "$request.body",
            "PartitionKey": "$context.requestId",
        },
    }.get(action, {"StateMachineArn": ref(target_logical), "Input": "$request.body"})
    return {
        "ApiId": ref(logical),
        "IntegrationType": "AWS_PROXY",
        "IntegrationSubtype": V2_SUBTYPES[action],
        "CredentialsArn": get_att(role),
        "RequestParameters": parameters,
        "PayloadFormatVersion": "1.0",
        "TimeoutInMillis": route_timeout(api),
    }


def event_names(t: Template, api: NodeSpec, route: dict[str, Any]) -> dict[str, str]:
    """Source and DetailType as Flowyard's gateway sets them: stage variables, else defaults."""
    variables = t.settings(api)["stage_variables"]
    return {
        "Source": variables.get("source") or f"flowyard.{api.id}",
        "DetailType": variables.get("detail_type") or f"{route['method']} {route['path']}",
    }


def route_name(route: dict[str, Any]) -> str:
    return words(route["method"].lower()) + words(route["path"])


def route_timeout(api: NodeSpec) -> int:
    return min(api.settings()["timeout_ms"], 29000)


# --- shared infrastructure: MSK, Amazon MQ, event sources, policies, roles ---------------------


def write_msk(t: Template, kafka_topics: list[NodeSpec]) -> None:
    if not kafka_topics:
        return
    t.claim(MSK_CLUSTER)
    t.parameters["MskSubnetIds"] = {
        "Type": "List<AWS::EC2::Subnet::Id>",
        "Description": "Subnets for the MSK brokers, one per broker (three by default)",
    }
    t.parameters["MskSecurityGroupIds"] = {
        "Type": "List<AWS::EC2::SecurityGroup::Id>",
        "Description": "Security groups of the MSK brokers",
    }
    topics = [
        {
            "name": node.id,
            "partitions": t.settings(node)["partitions"],
            "replication_factor": t.settings(node)["replication_factor"],
        }
        for node in kafka_topics
    ]
    t.add(
        MSK_CLUSTER,
        "AWS::MSK::Cluster",
        {
            "ClusterName": sub("${AWS::StackName}-kafka"),
            "KafkaVersion": "3.6.0",
            "NumberOfBrokerNodes": 3,
            "BrokerNodeGroupInfo": {
                "InstanceType": "kafka.m5.large",
                "ClientSubnets": ref("MskSubnetIds"),
                "SecurityGroups": ref("MskSecurityGroupIds"),
                "StorageInfo": {"EBSStorageInfo": {"VolumeSize": 100}},
            },
        },
        # Kafka topics are not CloudFormation resources: create these after the cluster.
        Metadata={"Flowyard": {"topics": topics}},
    )
    t.outputs["MskClusterArn"] = {"Description": "Kafka cluster ARN", "Value": ref(MSK_CLUSTER)}


def broker_logical(engine: str) -> str:
    return f"MqBroker{engine}"


def write_brokers(t: Template, brokers: list[NodeSpec]) -> None:
    for engine in sorted({t.settings(node)["engine"] for node in brokers}):
        logical = t.claim(broker_logical(engine))
        secret = t.claim(f"{logical}Credentials")
        t.add(
            secret,
            "AWS::SecretsManager::Secret",
            {
                "Description": f"Credentials of the {engine} broker",
                "GenerateSecretString": {
                    "SecretStringTemplate": json.dumps({"username": "flowyard"}),
                    "GenerateStringKey": "password",
                    "ExcludePunctuation": True,
                    "PasswordLength": 24,
                },
            },
        )
        destinations = [
            {"name": node.id, "type": t.settings(node)["destination_type"]}
            for node in brokers
            if t.settings(node)["engine"] == engine
        ]
        t.add(
            logical,
            "AWS::AmazonMQ::Broker",
            {
                "BrokerName": sub("${AWS::StackName}-" + engine.lower()),
                "EngineType": engine.upper(),
                "EngineVersion": MQ_VERSIONS[engine],
                "HostInstanceType": "mq.m5.large",
                "DeploymentMode": "SINGLE_INSTANCE",
                "PubliclyAccessible": False,
                "AutoMinorVersionUpgrade": True,
                "Users": [
                    {
                        "Username": "flowyard",
                        "Password": sub(
                            "{{resolve:secretsmanager:${" + secret + "}:SecretString:password}}"
                        ),
                    }
                ],
            },
            # Broker destinations are created by clients, not CloudFormation.
            Metadata={"Flowyard": {"destinations": destinations}},
        )


def write_event_sources(t: Template) -> None:
    """Event source mappings: queues, streams, Kafka topics and brokers feeding functions."""
    for edge in t.spec.edges:
        source, target = t.node(edge.source), t.node(edge.target)
        if target.kind != "function" or source.kind not in BUFFER_SOURCES:
            continue
        function = t.logical[target.id]
        props = BUFFER_SOURCES[source.kind](t, source, target, edge)
        props = {"FunctionName": ref(function), **props, "Enabled": True}
        t.add(
            t.claim(f"{function}Source{camel(edge.id)}"),
            "AWS::Lambda::EventSourceMapping",
            props,
            Metadata={"Flowyard": {"edge": edge.id}},
        )


def queue_source(
    t: Template, queue: NodeSpec, function: NodeSpec, edge: EdgeSpec
) -> dict[str, Any]:
    s = t.settings(function)
    actions = (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    )
    t.grant(t.role(t.logical[function.id]), actions, get_att(t.logical[queue.id]))
    props: dict[str, Any] = {
        "EventSourceArn": get_att(t.logical[queue.id]),
        "BatchSize": min(s["batch_size"], 10 if t.settings(queue)["fifo"] else 10000),
    }
    if not t.settings(queue)["fifo"] and (s["batching_window"] or props["BatchSize"] > 10):
        # Lambda takes more than 10 messages from a standard queue only with a batching window.
        props["MaximumBatchingWindowInSeconds"] = max(s["batching_window"], 1)
    return props


def stream_source(
    t: Template, stream: NodeSpec, function: NodeSpec, edge: EdgeSpec
) -> dict[str, Any]:
    config = {**KINDS["stream"].edge_defaults(), **edge.config}
    role = t.role(t.logical[function.id])
    stream_arn = get_att(t.logical[stream.id])
    actions = (
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:ListShards",
        "kinesis:ListStreams",
    )
    t.grant(role, actions, stream_arn)
    source: Any = stream_arn
    if config["enhanced_fan_out"]:
        consumer = t.claim(f"{t.logical[stream.id]}Consumer{camel(edge.id)}")
        t.add(
            consumer,
            "AWS::Kinesis::StreamConsumer",
            {"StreamARN": stream_arn, "ConsumerName": edge.id},
            Metadata={"Flowyard": {"edge": edge.id}},
        )
        source = ref(consumer)
        t.grant(role, ("kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer"), source)
    props: dict[str, Any] = {
        "EventSourceArn": source,
        "StartingPosition": config["starting_position"],
        "BatchSize": config["batch_size"],
    }
    if config["starting_position"] == "AT_TIMESTAMP":
        stamp = datetime.fromisoformat(config["starting_timestamp"].replace("Z", "+00:00"))
        props["StartingPositionTimestamp"] = stamp.timestamp()
    return props


def kafka_source(
    t: Template, topic: NodeSpec, function: NodeSpec, edge: EdgeSpec
) -> dict[str, Any]:
    config = {**KINDS["kafka_topic"].edge_defaults(), **edge.config}
    props: dict[str, Any] = {
        "EventSourceArn": ref(MSK_CLUSTER),
        "Topics": [topic.id],
        "StartingPosition": KAFKA_POSITIONS[config["auto_offset_reset"]],
        "BatchSize": config["batch_size"],
    }
    group = config["consumer_group_id"]
    if group:
        props["AmazonManagedKafkaEventSourceConfig"] = {"ConsumerGroupId": group}
    t.role(t.logical[function.id])
    t.msk_consumers.add(t.logical[function.id])
    return props


def broker_source(
    t: Template, broker: NodeSpec, function: NodeSpec, edge: EdgeSpec
) -> dict[str, Any]:
    engine = t.settings(broker)["engine"]
    logical = broker_logical(engine)
    secret = f"{logical}Credentials"
    role = t.role(t.logical[function.id])
    t.grant(role, ("mq:DescribeBroker",), get_att(logical))
    t.grant(role, ("secretsmanager:GetSecretValue",), ref(secret))
    network = (
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    )
    t.grant(role, network, "*")
    return {
        "EventSourceArn": get_att(logical),
        "Queues": [broker.id],
        "BatchSize": min(t.settings(function)["batch_size"], 10000),
        "SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": ref(secret)}],
    }


BUFFER_SOURCES: dict[str, Callable[[Template, NodeSpec, NodeSpec, EdgeSpec], dict[str, Any]]] = {
    "queue": queue_source,
    "stream": stream_source,
    "kafka_topic": kafka_source,
    "broker": broker_source,
}


def write_resource_policies(t: Template) -> None:
    for node_id, senders in t.queue_senders.items():
        write_resource_policy(
            t,
            t.logical[node_id],
            senders,
            policy_type="AWS::SQS::QueuePolicy",
            targets_key="Queues",
            action="sqs:SendMessage",
            resource_of=get_att,
        )
    for node_id, senders in t.topic_senders.items():
        write_resource_policy(
            t,
            t.logical[node_id],
            senders,
            policy_type="AWS::SNS::TopicPolicy",
            targets_key="Topics",
            action="sns:Publish",
            resource_of=ref,
        )


def write_resource_policy(
    t: Template,
    logical: str,
    senders: list[tuple[str, Any]],
    *,
    policy_type: str,
    targets_key: str,
    action: str,
    resource_of: Callable[[str], dict[str, Any]],
) -> None:
    """A queue's or topic's policy letting each AWS service send to it from its source."""
    statements = [
        {
            "Sid": f"Allow{camel(service)}{index}",
            "Effect": "Allow",
            "Principal": {"Service": f"{service}.amazonaws.com"},
            "Action": action,
            "Resource": resource_of(logical),
            "Condition": {"ArnEquals": {"aws:SourceArn": source}},
        }
        for index, (service, source) in enumerate(unique(senders), start=1)
    ]
    t.add(
        t.claim(f"{logical}Policy"),
        policy_type,
        {
            targets_key: [ref(logical)],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
        },
    )


def unique(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


ROLE_SERVICES = {
    "AWS::Lambda::Function": "lambda",
    "AWS::Events::Rule": "events",
    "AWS::StepFunctions::StateMachine": "states",
    "AWS::ApiGateway::RestApi": "apigateway",
    "AWS::ApiGatewayV2::Api": "apigateway",
}


def write_roles(t: Template) -> None:
    for owner, role in t.roles.items():
        grants = t.grants[role]
        owner_type = t.resources[owner]["Type"]
        service = ROLE_SERVICES[owner_type]
        props: dict[str, Any] = {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": SERVICE[service]},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        }
        if service == "lambda":
            managed = [sub(LAMBDA_BASIC)]
            if owner in t.msk_consumers:
                managed.append(sub(LAMBDA_MSK))
            props["ManagedPolicyArns"] = managed
        if grants:
            statements = [
                {"Effect": "Allow", "Action": list(actions), "Resource": resources}
                for actions, resources in grants.items()
            ]
            props["Policies"] = [
                {
                    "PolicyName": "flowyard-wiring",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ]
        t.add(role, "AWS::IAM::Role", props)


# --- the template ----------------------------------------------------------------------------

WRITERS: dict[str, Callable[[Template, NodeSpec], Any]] = {
    "queue": write_queue,
    "topic": write_topic,
    "rule": write_rule,
    "stream": write_stream,
    "function": write_function,
    "state_machine": write_state_machine,
    "http_api": write_http_api,
    "graphql_api": write_graphql_api,
    "log": write_log,
}


def build(spec: TopologySpec) -> tuple[dict[str, Any], list[str]]:
    """The template as data, and warnings about wiring CloudFormation cannot express."""
    t = Template(spec)
    metadata_nodes: list[dict[str, Any]] = []
    for node in spec.nodes:
        if node.kind == "event_bus":
            if not write_event_bus(t, node):
                metadata_nodes.append(canonical_node(node))
        elif node.kind in WRITERS:
            WRITERS[node.kind](t, node)
        else:
            metadata_nodes.append(canonical_node(node))
    write_msk(t, [node for node in spec.nodes if node.kind == "kafka_topic"])
    write_brokers(t, [node for node in spec.nodes if node.kind == "broker"])
    write_event_sources(t)
    write_resource_policies(t)
    write_roles(t)
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": FORMAT_VERSION,
        "Description": description(spec),
        "Metadata": {"Flowyard": flowyard_metadata(spec, metadata_nodes)},
    }
    if t.parameters:
        template["Parameters"] = t.parameters
    template["Resources"] = t.resources or placeholder_resources()
    if t.outputs:
        template["Outputs"] = t.outputs
    return template, t.warnings


def description(spec: TopologySpec) -> str:
    text = re.sub(r"\s+", " ", f"Flowyard topology {spec.name}").strip()
    return text[:1000]


def flowyard_metadata(spec: TopologySpec, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": spec.schema,
        "name": spec.name,
        "description": spec.description,
        "order": [node.id for node in spec.nodes],
        "nodes": nodes,
        "edges": [canonical_edge(spec, edge) for edge in spec.edges],
    }
    if spec.meta:
        data["meta"] = dict(spec.meta)
    return data


def placeholder_resources() -> dict[str, Any]:
    # A template needs at least one resource; a condition-free wait handle costs nothing.
    return {"FlowyardEmpty": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}


def render(spec: TopologySpec) -> tuple[str, list[str]]:
    template, warnings = build(spec)
    return dumps_yaml(template), warnings
