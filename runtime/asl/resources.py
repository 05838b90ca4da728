"""The seam between Task states and whatever runs them (topology nodes, test doubles).

A `Resources` object receives `invoke(resource_arn, payload, token=...)` for each task attempt
and returns the task result, or raises `TaskError(error, cause)`. For `.waitForTaskToken`
resources, `invoke` only submits the work (e.g. sends the SQS message carrying the token); the
interpreter then waits on `TaskTokens` until `send_task_success/failure` arrives. For `.sync`
resources `invoke` itself returns when the job is done.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from runtime.asl.concurrency import race
from runtime.asl.errors import HEARTBEAT_TIMEOUT, TASK_FAILED, TaskError
from runtime.clock import Clock

Handler = Callable[..., Any | Awaitable[Any]]


class Resources(Protocol):
    async def invoke(self, resource: str, payload: Any, *, token: str | None) -> Any: ...


@dataclass(frozen=True)
class ResourceKind:
    """How a Resource ARN runs and which history events it produces."""

    family: str  # "Task", "LambdaFunction" or "Activity": the history event prefix
    resource_type: str  # e.g. "lambda", "sqs", "aws-sdk:s3"
    resource: str  # e.g. "invoke", "sendMessage.waitForTaskToken"
    pattern: str  # "request-response", "sync" or "callback"


def classify(resource_arn: str) -> ResourceKind:
    parts = resource_arn.split(":")
    if len(parts) > 6 and parts[2] == "lambda" and parts[5] == "function":
        return ResourceKind("LambdaFunction", "lambda", resource_arn, "request-response")
    if len(parts) > 6 and parts[2] == "states" and parts[5] == "activity":
        return ResourceKind("Activity", "activity", resource_arn, "request-response")
    if ":::" not in resource_arn:
        return ResourceKind("Task", "unknown", resource_arn, "request-response")
    segments = resource_arn.split(":::", 1)[1].split(":")
    width = 2 if segments[0] == "aws-sdk" else 1
    service, action = ":".join(segments[:width]), ":".join(segments[width:])
    pattern = "request-response"
    if ".waitForTaskToken" in action:
        pattern = "callback"
    elif ".sync" in action:
        pattern = "sync"
    return ResourceKind("Task", service, action, pattern)


class NoResources:
    """Every task fails: nothing is plugged in to run it."""

    async def invoke(self, resource: str, payload: Any, *, token: str | None) -> Any:
        raise TaskError(
            TASK_FAILED,
            f"No resource is connected to run '{resource}' in this emulator.",
        )


class ResourceMap:
    """Resources from a mapping of ARN to handler; handlers may be sync or async.

    A handler takes the payload, and also `token=` when its signature accepts it. An unknown ARN
    fails like NoResources does.
    """

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self._handlers = dict(handlers)

    async def invoke(self, resource: str, payload: Any, *, token: str | None) -> Any:
        handler = self._handlers.get(resource)
        if handler is None:
            return await NoResources().invoke(resource, payload, token=token)
        accepts_token = "token" in inspect.signature(handler).parameters
        result = handler(payload, token=token) if accepts_token else handler(payload)
        return await result if inspect.isawaitable(result) else result


class TaskTokens:
    """Pending callback tokens: the engine calls send_task_* when a worker answers."""

    def __init__(self) -> None:
        self._results: dict[str, asyncio.Future[Any]] = {}
        self._heartbeats: dict[str, asyncio.Event] = {}

    def open(self, token: str) -> None:
        self._results[token] = asyncio.get_running_loop().create_future()
        self._heartbeats[token] = asyncio.Event()

    def close(self, token: str) -> None:
        self._results.pop(token, None)
        self._heartbeats.pop(token, None)

    def is_open(self, token: str) -> bool:
        return token in self._results

    def pending(self) -> list[str]:
        """Tokens still waiting for send_task_success/failure, oldest first."""
        return [token for token, future in self._results.items() if not future.done()]

    def send_task_success(self, token: str, output: Any) -> None:
        future = self._pending(token)
        future.set_result(output)

    def send_task_failure(self, token: str, error: str | None, cause: str | None = None) -> None:
        future = self._pending(token)
        future.set_exception(TaskError(error or TASK_FAILED, cause))

    def send_task_heartbeat(self, token: str) -> None:
        self._pending(token)
        self._heartbeats[token].set()

    def _pending(self, token: str) -> asyncio.Future[Any]:
        future = self._results.get(token)
        if future is None or future.done():
            raise KeyError(f"TaskTimedOut: the task token is not pending: {token}")
        return future

    async def wait(self, token: str, heartbeat: float | None, clock: Clock) -> Any:
        """The callback result; raises TaskError(States.HeartbeatTimeout) when heartbeats stop.

        Each heartbeat restarts the HeartbeatSeconds countdown.
        """
        future = self._results[token]
        if heartbeat is None:
            return await future
        beat = self._heartbeats[token]
        while True:
            winner, result = await race(
                lambda: _settled(future), beat.wait, lambda: clock.sleep(heartbeat)
            )
            if winner == 0:
                return result
            if winner == 2:
                raise TaskError(HEARTBEAT_TIMEOUT, "The task did not send a heartbeat in time.")
            beat.clear()  # a heartbeat arrived: the countdown starts again


async def _settled(future: asyncio.Future[Any]) -> Any:
    # Shielded: losing a heartbeat round must not cancel the pending callback itself.
    return await asyncio.shield(future)
