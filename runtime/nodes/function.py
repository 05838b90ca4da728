"""Lambda function: consumes in batches with bounded concurrency and transforms each message."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from runtime.events import Message, NodeState
from runtime.nodes.base import (
    TEMPLATE_REFERENCES_HELP,
    Field,
    Kind,
    Problem,
    non_default,
    template_problem,
)
from runtime.nodes.behaviour import DeliveryFailed, Link, NodeRuntime, TaskFactory
from runtime.templates import TemplateContext, compile_text, iso_time, parse_rendered

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


POLLED_SOURCES = frozenset({"queue", "stream", "kafka_topic", "broker"})
ASYNC_RETRY_DELAYS = (60.0, 120.0)  # Lambda retries an async event after 1 then 2 minutes


class InvocationError(Exception):
    """An invocation failed; ``failed`` names the messages that failed when only some did
    (the batchItemFailures answer of a handler reporting partial batch failures)."""

    def __init__(self, error_type: str, message: str, failed: list[Message] | None = None) -> None:
        self.error_type = error_type
        self.message = message
        self.failed = failed
        super().__init__(f"{error_type}: {message}")


class FunctionNode(NodeRuntime):
    """Runs the transform per message with injected latency and failures.

    Polled sources (queue, stream, Kafka, broker) invoke it synchronously with a batch; a failure
    raises DeliveryFailed so the source's own retry semantics apply. Everything else invokes it
    asynchronously: events wait in an internal queue, failures are retried (after 1 and 2
    minutes, at most ``max_retry_attempts``) and then go to the on-failure destination.
    """

    kind = "function"

    def setup(self) -> None:
        settings = self.settings
        self.arn = self.engine.arn("lambda", f"function:{self.id}")
        self.mode = settings["transform"]
        self.expression: Any = None
        self.render: Any = None
        if self.mode == "jsonata":
            import jsonata

            try:
                self.expression = jsonata.Jsonata(settings["jsonata"])
            except Exception as error:  # noqa: BLE001 - jsonata raises several error types
                self.state = NodeState.NOT_RUNNABLE
                self.setup_error = f"invalid JSONata: {error}"
        elif self.mode == "template":
            self.render = compile_text(settings["template"])
        concurrency = settings["reserved_concurrency"]
        self.pollers = min(concurrency, 10) if concurrency else 1
        self.workers = min(concurrency, 10) if concurrency else 2
        self.pending: deque[tuple[Message, int]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.invocations = 0
        self.running = 0

    def tasks(self) -> list[tuple[str, TaskFactory]]:
        if not any(link.source.kind not in POLLED_SOURCES for link in self.inbound):
            return []
        return [(f"async:{index}", self._async_worker) for index in range(self.workers)]

    # --- invocation -----------------------------------------------------------------------------
    async def accept(self, messages: list[Message], link: Link | None) -> None:
        if link is not None and link.source.kind in POLLED_SOURCES:
            try:
                await self.invoke(messages)
            except InvocationError as error:
                raise DeliveryFailed(error.error_type, error.message, failed=error.failed) from None
            return
        self.pending.extend((message, 1) for message in messages)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def invoke(self, messages: list[Message]) -> None:
        """One invocation with a batch; raises InvocationError when it fails."""
        self.note_received(messages)
        self.invocations += 1
        self.running += 1
        try:
            await self._simulate()
        except InvocationError as error:
            self.fail(error.error_type, error.message, messages)
            raise
        finally:
            self.running -= 1
        outputs: list[Message] = []
        failed: list[Message] = []
        problem: InvocationError | None = None
        for message in messages:
            try:
                result = self._transform(message)
            except InvocationError as error:
                problem = error
                failed.append(message)
                continue
            if result is None:
                self.stats.dropped += 1
            else:
                outputs.append(result)
        self.stats.acked += len(messages) - len(failed)
        if outputs and self.links:
            await self.send_on(outputs)
        if problem is not None:
            self.fail(problem.error_type, problem.message, failed)
            raise InvocationError(problem.error_type, problem.message, failed)

    async def _simulate(self) -> None:
        if self.state is NodeState.NOT_RUNNABLE:
            raise InvocationError("Runtime.InvalidFunction", self.setup_error)
        latency = self.settings["latency_ms"] / 1000
        timeout = self.settings["timeout"]
        if latency:
            if latency > timeout:
                await self.clock.sleep(timeout)
                raise InvocationError(
                    "Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds"
                )
            await self.clock.sleep(latency)
        rate = self.settings["failure_rate"]
        if rate and self.engine.rng.random() < rate:
            raise InvocationError("Error", "Injected failure (failure_rate)")

    def _transform(self, message: Message) -> Message | None:
        if self.mode == "passthrough":
            return message.derive(self.id)
        if self.mode == "jsonata":
            try:
                body = self.expression.evaluate(message.body)
            except Exception as error:  # noqa: BLE001 - evaluation errors fail the invocation
                raise InvocationError("Runtime.JSONataError", str(error)) from None
            return None if body is None else message.derive(self.id, body=body)
        context = TemplateContext(self.engine.rng, self.clock.now(), message=message)
        return message.derive(self.id, body=parse_rendered(self.render(context)))

    # --- asynchronous invocation ----------------------------------------------------------------
    async def _async_worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.pending:
                self._waiter = loop.create_future()
                await self._waiter
                continue
            await self.engine.gate()
            message, attempt = self.pending.popleft()
            try:
                await self.invoke([message])
            except InvocationError as error:
                self._async_failed(message, attempt, error)

    def _async_failed(self, message: Message, attempt: int, error: InvocationError) -> None:
        age = self.clock.now() - message.created_at
        if attempt <= self.settings["max_retry_attempts"] and age < self.settings["max_event_age"]:
            self.stats.retries += 1
            delay = ASYNC_RETRY_DELAYS[min(attempt, len(ASYNC_RETRY_DELAYS)) - 1]
            self.engine.later(delay, self._retry, message, attempt + 1)
            return
        self.stats.dead_lettered += 1
        destination = self.engine.nodes.get(self.settings["on_failure"] or "")
        self.engine.dead_lettered(
            self, message, destination.id if destination else "", error.error_type, error.message
        )
        if destination is not None:
            record = self._failure_record(message, attempt, error)
            self.engine.later(0, destination.accept, [message.derive(self.id, body=record)], None)

    async def _retry(self, message: Message, attempt: int) -> None:
        self.pending.append((message, attempt))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _failure_record(
        self, message: Message, attempt: int, error: InvocationError
    ) -> dict[str, Any]:
        return {
            "version": "1.0",
            "timestamp": iso_time(self.clock.now(), millis=True),
            "requestContext": {
                "requestId": message.id,
                "functionArn": f"{self.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempt,
            },
            "requestPayload": message.body,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {"errorType": error.error_type, "errorMessage": error.message},
        }

    def gauges(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations,
            "running": self.running,
            "pending": len(self.pending),
        }
