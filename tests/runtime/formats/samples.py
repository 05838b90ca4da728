"""Topologies the format tests export: the demo, and one using every kind and most settings."""

from __future__ import annotations

from typing import Any

from designer.demo import demo_document
from runtime.spec import SCHEMA, TopologySpec, load
from tests.builders import edge, node

HOSTILE = "<script>alert(1)</script> & \"quotes\" 'apos' ]]> #x; |pipe| `tick`"
API_KEY = "flowyard-test-key-0123456789"


def demo() -> TopologySpec:
    return load(demo_document())


WORKFLOW = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "worker", "Payload.$": "$"},
            "Next": "Enqueue",
        },
        "Enqueue": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
                "MessageBody.$": "$",
            },
            "End": True,
        },
    },
}


def every_kind_document() -> dict[str, Any]:
    nodes = [
        node("clicks", "producer", label=HOSTILE, x=0, y=0, mode="load", rate=5.0),
        node("stripe", "partner_source", x=0, y=100, partner="stripe"),
        node(
            "rest-api",
            "http_api",
            x=0,
            y=200,
            api_keys=[API_KEY],
            usage_plan_rate=10.0,
            usage_plan_burst=5,
            quota_limit=1000,
            stage_variables={"env": "test"},
            routes=[
                route("POST", "/orders", "PutEvents", "bus"),
                route(
                    "POST",
                    "/orders/{id}/items",
                    "SendMessage",
                    "jobs",
                    api_key_required=True,
                    required_parameters=["path.id", "header.x-tenant", "querystring.page"],
                    throttle={"rate": 5.0, "burst": 2},
                ),
                route("PUT", "/alerts", "Publish", "alerts"),
                route("POST", "/clicks", "PutRecord", "clickstream"),
                route("POST", "/runs", "StartExecution", "workflow"),
                route("GET", "/", "Invoke", "worker"),
            ],
        ),
        node(
            "http-api",
            "http_api",
            x=0,
            y=300,
            api_type="HTTP",
            stage="$default",
            timeout_ms=30000,
            cors_allow_origins=["https://app.example.com"],
            cors_allow_methods=["GET", "POST"],
            routes=[
                route("POST", "/events", "PutEvents", "bus"),
                route("POST", "/jobs", "SendMessage", "jobs", throttle={"rate": 2.0, "burst": 1}),
                route("POST", "/clicks", "PutRecord", "clickstream"),
                route("POST", "/sync", "StartSyncExecution", "workflow"),
                route("ANY", "/{proxy+}", "Invoke", "worker"),
            ],
        ),
        node("graphql", "graphql_api", x=0, y=400),
        node(
            "graphql-oidc",
            "graphql_api",
            x=0,
            y=500,
            auth_mode="OPENID_CONNECT",
            mutations=[{"mutation": "createOrder", "target": "bus"}],
        ),
        node("bus", "event_bus", x=200, y=0, bus_name="orders", archive_enabled=True),
        node("default-bus", "event_bus", x=200, y=100),
        node(
            "all-orders",
            "rule",
            label="All orders",
            x=400,
            y=0,
            event_pattern={"source": ["shop"], "detail": {"total": [{"numeric": [">", 10]}]}},
            dead_letter_queue="rule-dlq",
            max_retry_attempts=3,
            max_event_age=3600,
            description="Routes orders",
        ),
        node(
            "nightly", "rule", x=400, y=100, event_pattern=None, schedule_expression="rate(1 day)"
        ),
        node("jobs", "queue", x=600, y=0, dead_letter_queue="jobs-dlq", max_receive_count=4),
        node("jobs-dlq", "queue", x=600, y=100, retention_period=1209600),
        node("rule-dlq", "queue", x=600, y=200),
        node(
            "ordered",
            "queue",
            x=600,
            y=300,
            fifo=True,
            content_based_deduplication=True,
            deduplication_scope="messageGroup",
            fifo_throughput_limit="perMessageGroupId",
        ),
        node("alerts", "topic", x=600, y=400, display_name="Alerts", num_retries=5),
        node("ordered-topic", "topic", x=600, y=500, fifo=True, content_based_deduplication=True),
        node(
            "clickstream",
            "stream",
            x=600,
            y=600,
            shard_count=2,
            retention_hours=48,
            enforce_throughput=True,
        ),
        node("on-demand", "stream", x=600, y=700, capacity_mode="ON_DEMAND"),
        node("kafka", "kafka_topic", x=600, y=800, partitions=6),
        node("mq", "broker", x=600, y=900),
        node("rabbit", "broker", x=600, y=1000, engine="RabbitMQ", dlq_name="DLQ.rabbit"),
        node(
            "worker",
            "function",
            x=800,
            y=0,
            memory=256,
            timeout=20,
            reserved_concurrency=5,
            max_retry_attempts=1,
            on_failure="rule-dlq",
            transform="jsonata",
            jsonata="$",
        ),
        node("java-worker", "function", x=800, y=100, runtime="java21"),
        node("node-worker", "function", x=800, y=200, runtime="nodejs22.x"),
        node("workflow", "state_machine", x=800, y=300, log_level="ALL", definition=WORKFLOW),
        node("express", "state_machine", x=800, y=400, type="EXPRESS"),
        node("hook", "webhook", x=1000, y=0, url="https://hooks.example.com/x"),
        node("mail", "email", x=1000, y=100, to=["a@example.com", "b@example.com"]),
        node("text", "sms", x=1000, y=200),
        node("sink", "log", x=1000, y=300, keep_last=50),
    ]
    edges = [
        edge("e-clicks", "clicks", "bus"),
        edge("e-stripe", "stripe", "default-bus"),
        edge("e-gql", "graphql", "bus"),
        edge("e-gql-oidc", "graphql-oidc", "bus"),
        edge("e-bus-all", "bus", "all-orders"),
        edge("e-bus-nightly", "default-bus", "nightly"),
        edge("e-all-jobs", "all-orders", "jobs", input_mode="input_path", input_path="$.detail"),
        edge(
            "e-all-alerts",
            "all-orders",
            "alerts",
            input_mode="input_transformer",
            input_paths_map={"total": "$.detail.total"},
            input_template='{"total": <total>}',
        ),
        edge("e-all-flow", "all-orders", "workflow", input_mode="constant", input={"go": True}),
        edge("e-all-stream", "all-orders", "clickstream", partition_key_path="$.id"),
        edge("e-all-fifo", "all-orders", "ordered", message_group_id="orders"),
        edge("e-nightly-worker", "nightly", "worker"),
        edge("e-nightly-sink", "nightly", "sink"),
        edge("e-nightly-hook", "nightly", "hook"),
        edge("e-jobs-worker", "jobs", "worker"),
        edge("e-ordered-node", "ordered", "node-worker"),
        edge(
            "e-alerts-mail",
            "alerts",
            "mail",
            filter_policy={"severity": ["high"]},
        ),
        edge(
            "e-alerts-hook",
            "alerts",
            "hook",
            filter_policy={"detail": {"total": [{"numeric": [">", 100]}]}},
            filter_policy_scope="MessageBody",
            raw_message_delivery=True,
            dead_letter_queue="rule-dlq",
        ),
        edge("e-alerts-text", "alerts", "text"),
        edge("e-alerts-worker", "alerts", "worker"),
        edge("e-alerts-jobs", "alerts", "jobs", raw_message_delivery=True),
        edge("e-alerts-sink", "alerts", "sink"),
        edge("e-fifo-topic", "ordered-topic", "ordered"),
        edge("e-stream-worker", "clickstream", "worker", enhanced_fan_out=True, batch_size=50),
        edge(
            "e-stream-java",
            "clickstream",
            "java-worker",
            starting_position="AT_TIMESTAMP",
            starting_timestamp="2026-01-01T12:00:00Z",
        ),
        edge("e-stream-sink", "clickstream", "sink"),
        edge("e-kafka-worker", "kafka", "worker", consumer_group_id="workers"),
        edge("e-mq-worker", "mq", "java-worker"),
        edge("e-rabbit-worker", "rabbit", "node-worker"),
        edge("e-flow-worker", "workflow", "worker"),
        edge("e-flow-jobs", "workflow", "jobs"),
        edge("e-express-sink", "express", "sink"),
        edge("e-worker-alerts", "worker", "alerts"),
        edge("e-worker-bus", "worker", "bus"),
    ]
    return {
        "schema": SCHEMA,
        "name": f"Every kind {HOSTILE}",
        "description": "One node of every kind, wired every way export supports.",
        "nodes": nodes,
        "edges": edges,
    }


def route(method: str, path: str, action: str, target: str, **extra: Any) -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "integration": {"action": action, "target": target},
        **extra,
    }


def every_kind() -> TopologySpec:
    return load(every_kind_document())
