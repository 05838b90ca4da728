"""The demo topology seeded by `make run`: all six patterns in one order-processing system."""

from __future__ import annotations

from typing import Any

from runtime.spec import SCHEMA

DEMO_NAME = "Orders demo"

PAYMENT_WORKFLOW: dict[str, Any] = {
    "Comment": "Charge the card (with retries), then review big orders or ship in parallel.",
    "StartAt": "ChargeCard",
    "States": {
        "ChargeCard": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:charge-card",
            "ResultPath": "$.payment",
            "Retry": [
                {
                    "ErrorEquals": ["States.TaskFailed"],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 3,
                    "BackoffRate": 2.0,
                }
            ],
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "PaymentFailed"}
            ],
            "Next": "BigOrder?",
        },
        "BigOrder?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.detail.total", "NumericGreaterThan": 1000, "Next": "ManualReview"}
            ],
            "Default": "ShipAndNotify",
        },
        "ManualReview": {"Type": "Pass", "Result": {"review": "queued"}, "End": True},
        "ShipAndNotify": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "ReserveStock",
                    "States": {"ReserveStock": {"Type": "Pass", "End": True}},
                },
                {
                    "StartAt": "NotifyCustomer",
                    "States": {"NotifyCustomer": {"Type": "Pass", "End": True}},
                },
            ],
            "End": True,
        },
        "PaymentFailed": {
            "Type": "Fail",
            "Error": "PaymentFailed",
            "Cause": "The card could not be charged.",
        },
    },
}


def node(node_id: str, kind: str, label: str, x: int, y: int, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "label": label, "x": x, "y": y, "config": config}


def edge(edge_id: str, source: str, target: str, **config: Any) -> dict[str, Any]:
    return {"id": edge_id, "source": source, "target": target, "config": config}


def demo_document() -> dict[str, Any]:
    nodes = [
        node(
            "orders-api",
            "http_api",
            "Orders API",
            40,
            80,
            stage="prod",
            routes=[
                {
                    "method": "POST",
                    "path": "/orders",
                    "integration": {"action": "PutEvents", "target": "orders-bus"},
                }
            ],
        ),
        node(
            "checkout",
            "producer",
            "Checkout",
            40,
            220,
            mode="manual",
            source="com.flowyard.orders",
            detail_type="OrderPlaced",
            body={"order_id": "{{uuid}}", "total": 120, "channel": "email", "status": "placed"},
        ),
        node(
            "orders-bus",
            "event_bus",
            "Orders bus",
            280,
            150,
            bus_name="orders",
            archive_enabled=True,
        ),
        node(
            "new-orders",
            "rule",
            "New orders",
            520,
            40,
            event_pattern={"source": ["com.flowyard.orders"], "detail-type": ["OrderPlaced"]},
        ),
        node(
            "notify-orders",
            "rule",
            "Notify customers",
            520,
            180,
            event_pattern={
                "source": ["com.flowyard.orders"],
                "detail": {"status": [{"anything-but": ["test"]}]},
            },
        ),
        node(
            "paid-orders",
            "rule",
            "Paid orders",
            520,
            320,
            event_pattern={
                "source": ["com.flowyard.orders"],
                "detail": {"total": [{"numeric": [">", 0]}]},
            },
        ),
        node(
            "orders-queue",
            "queue",
            "Orders queue",
            760,
            40,
            visibility_timeout=30,
            dead_letter_queue="orders-dlq",
            max_receive_count=3,
        ),
        node("orders-dlq", "queue", "Orders DLQ", 760, -80),
        node("fulfil-order", "function", "Fulfil order", 1000, 40, timeout=10, batch_size=10),
        node("fulfilment-log", "log", "Fulfilment log", 1240, 40),
        node("notifications", "topic", "Notifications", 760, 180),
        node("email-customer", "email", "Email customer", 1000, 130, to=["customer@example.com"]),
        node("sms-customer", "sms", "SMS big orders", 1000, 210),
        node(
            "partner-webhook",
            "webhook",
            "Partner webhook",
            1000,
            290,
            url="https://partner.example.com/hooks/orders",
        ),
        node(
            "payment-workflow",
            "state_machine",
            "Payment workflow",
            760,
            360,
            definition=PAYMENT_WORKFLOW,
        ),
        node("charge-card", "function", "Charge card", 1000, 400, latency_ms=20, failure_rate=0.1),
        node(
            "clicks",
            "producer",
            "Click generator",
            40,
            520,
            mode="load",
            rate=50.0,
            duration=60,
            partition_key="{{choice user-1|user-2|user-3|user-4}}",
            body={"user": "{{choice user-1|user-2|user-3|user-4}}", "page": "/p/{{n}}"},
        ),
        node("clickstream", "stream", "Clickstream", 280, 520, shard_count=2),
        node(
            "sessionize",
            "function",
            "Sessionize",
            520,
            480,
            transform="jsonata",
            jsonata='{"user": user, "page": page}',
        ),
        node("sessions-log", "log", "Sessions", 760, 480),
        node("clicks-archive", "log", "Click archive", 520, 600, keep_last=1000),
    ]
    edges = [
        edge("api-to-bus", "orders-api", "orders-bus"),
        edge("checkout-to-bus", "checkout", "orders-bus"),
        edge("bus-new-orders", "orders-bus", "new-orders"),
        edge("bus-notify", "orders-bus", "notify-orders"),
        edge("bus-paid", "orders-bus", "paid-orders"),
        edge("new-orders-queue", "new-orders", "orders-queue"),
        edge("queue-fulfil", "orders-queue", "fulfil-order"),
        edge("fulfil-log", "fulfil-order", "fulfilment-log"),
        edge("notify-topic", "notify-orders", "notifications"),
        edge(
            "topic-email",
            "notifications",
            "email-customer",
            filter_policy={"detail": {"channel": ["email"]}},
            filter_policy_scope="MessageBody",
        ),
        edge(
            "topic-sms",
            "notifications",
            "sms-customer",
            filter_policy={"detail": {"total": [{"numeric": [">=", 500]}]}},
            filter_policy_scope="MessageBody",
        ),
        edge("topic-webhook", "notifications", "partner-webhook", raw_message_delivery=True),
        edge("paid-workflow", "paid-orders", "payment-workflow"),
        edge("workflow-charge", "payment-workflow", "charge-card"),
        edge("clicks-stream", "clicks", "clickstream"),
        edge("stream-sessionize", "clickstream", "sessionize", starting_position="TRIM_HORIZON"),
        edge("sessionize-log", "sessionize", "sessions-log"),
        edge("stream-archive", "clickstream", "clicks-archive"),
    ]
    return {
        "schema": SCHEMA,
        "name": DEMO_NAME,
        "description": (
            "An order system showing all six patterns: an API into an event bus, rules routing to "
            "a queue with a DLQ and a consumer, an SNS topic fanning out with filter policies, a "
            "Kinesis stream with two consumers, and a Step Functions payment workflow."
        ),
        "nodes": nodes,
        "edges": edges,
    }
