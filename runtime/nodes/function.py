"""Lambda function: consumes in batches with bounded concurrency and transforms each message."""

from __future__ import annotations

from typing import Any

from runtime.nodes.base import (
    TEMPLATE_REFERENCES_HELP,
    Field,
    Kind,
    Problem,
    non_default,
    template_problem,
)

RUNTIMES = (
    "python3.13",
    "python3.12",
    "nodejs22.x",
    "nodejs20.x",
    "java21",
    "dotnet8",
    "ruby3.3",
    "provided.al2023",
)
# Largest batch each event source allows (graph.py checks the wired source).
MAX_BATCH_BY_SOURCE = {"queue": 10000, "queue.fifo": 10, "stream": 10000, "kafka_topic": 10000}
COMPUTE_TARGETS = frozenset(
    {
        "queue",
        "topic",
        "event_bus",
        "stream",
        "kafka_topic",
        "broker",
        "state_machine",
        "function",
        "webhook",
        "email",
        "sms",
        "log",
    }
)


class Function(Kind):
    name = "function"
    label = "Function"
    group = "Compute"
    icon = "λ"
    description = (
        "Lambda function: receives batches, transforms each message, sends the results on."
    )
    models = "AWS Lambda"
    feeds = COMPUTE_TARGETS
    fields = (
        Field(
            "runtime",
            "choice",
            "python3.13",
            "Runtime label shown and exported; Flowyard runs the transform below whatever it is.",
            choices=RUNTIMES,
        ),
        Field(
            "memory",
            "int",
            128,
            "Memory size, exported to CloudFormation.",
            minimum=128,
            maximum=10240,
            unit="MB",
        ),
        Field(
            "timeout",
            "int",
            3,
            "An invocation running longer fails with a timeout. Keep it below the visibility "
            "timeout of a queue it consumes, or messages come back while still in work.",
            minimum=1,
            maximum=900,
            unit="s",
        ),
        Field(
            "batch_size",
            "int",
            10,
            "Most messages per invocation when consuming a queue, stream or Kafka topic. "
            "Maxima: 10 from a FIFO queue, 10,000 from a standard queue (above 10 it needs a "
            "batching window), a stream or a Kafka topic.",
            minimum=1,
            maximum=10000,
            unit="messages",
        ),
        Field(
            "batching_window",
            "int",
            0,
            "How long to gather messages before invoking with a partial batch.",
            label="Maximum batching window",
            minimum=0,
            maximum=300,
            unit="s",
        ),
        Field(
            "reserved_concurrency",
            "int",
            0,
            "Invocations that may run at once. 0: no reservation, the account's unreserved "
            "pool (1,000) applies.",
            minimum=0,
            maximum=1000,
        ),
        Field(
            "transform",
            "choice",
            "passthrough",
            "passthrough: send each message body on unchanged; jsonata: send the result of the "
            "JSONata expression; template: send the rendered template.",
            choices=("passthrough", "jsonata", "template"),
        ),
        Field(
            "jsonata",
            "text",
            "",
            "jsonata transform: an expression evaluated against the message body, e.g. "
            '{"id": order.id, "total": $sum(items.price)}.',
            label="JSONata expression",
            editor="jsonata",
            max_length=65536,
        ),
        Field(
            "template",
            "text",
            "",
            "template transform: text with placeholders; the result is parsed as JSON when it "
            "is JSON, else sent as a string. " + TEMPLATE_REFERENCES_HELP,
            editor="template",
            max_length=65536,
        ),
        Field(
            "latency_ms",
            "int",
            0,
            "Injected latency: each invocation takes this long (counts against the timeout).",
            label="Latency",
            minimum=0,
            maximum=900000,
            unit="ms",
        ),
        Field(
            "failure_rate",
            "float",
            0.0,
            "Injected failures: the share of invocations that raise an error, 0 to 1.",
            minimum=0,
            maximum=1,
        ),
        Field(
            "max_retry_attempts",
            "int",
            2,
            "Asynchronous invocations (from topics, rules, producers): retries after an error "
            "before the event goes to the on-failure destination.",
            label="Maximum retry attempts",
            minimum=0,
            maximum=2,
        ),
        Field(
            "max_event_age",
            "int",
            21600,
            "Asynchronous invocations: an event older than this is not retried any more.",
            label="Maximum event age",
            minimum=60,
            maximum=21600,
            unit="s",
        ),
        Field(
            "on_failure",
            "node",
            "",
            "Asynchronous invocations: node (queue, topic, bus or function) that receives "
            "events that failed after all retries, with the error. Empty: they are dropped.",
            label="On-failure destination",
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        mode = config["transform"]
        for name in non_default(config, cls.fields, ("jsonata", "template")):
            if name != mode:
                problems.append((f"/{name}", f"applies only when transform is {name}"))
        return problems

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        mode = config["transform"]
        if mode == "jsonata":
            problems.extend(jsonata_problems(config["jsonata"], "/jsonata"))
        if mode == "template":
            if not config["template"].strip():
                problems.append(("/template", "a template transform needs a template"))
            else:
                message = template_problem(config["template"], references=True)
                if message:
                    problems.append(("/template", message))
        return problems


def jsonata_problems(expression: str, pointer: str) -> list[Problem]:
    """A JSONata expression's syntax errors, compiled with jsonata-python when installed."""
    if not expression.strip():
        return [(pointer, "a JSONata transform needs an expression")]
    try:
        import jsonata
    except ImportError:
        return []
    try:
        jsonata.Jsonata(expression)
    except Exception as error:  # jsonata-python raises JException (a RuntimeError) and others
        return [(pointer, f"is not valid JSONata: {error}")]
    return []
