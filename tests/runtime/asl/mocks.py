"""Test doubles for Task resources, in the style of Step Functions Local mock configurations.

`MockResources({"arn...": [response, ...]})` answers successive invocations of a resource with
successive responses (the last one repeats). A response is `{"Return": value}`,
`{"Throw": {"Error": ..., "Cause": ...}}`, optionally with `"Delay": seconds` spent on the
execution's clock first, or a callable taking the payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.asl import Execution, TaskError, execute
from runtime.clock import Clock


@dataclass
class Call:
    resource: str
    payload: Any
    token: str | None
    time: float


@dataclass
class MockResources:
    responses: Mapping[str, list[Any]]
    clock: Clock | None = None
    calls: list[Call] = field(default_factory=list)

    async def invoke(self, resource: str, payload: Any, *, token: str | None) -> Any:
        now = self.clock.now() if self.clock else 0.0
        self.calls.append(Call(resource, payload, token, now))
        if resource not in self.responses:
            raise TaskError("States.TaskFailed", f"no mock response for {resource}")
        made = sum(1 for call in self.calls if call.resource == resource)
        answers = self.responses[resource]
        response = answers[min(made, len(answers)) - 1]
        if callable(response):
            return response(payload)
        if response.get("Delay") and self.clock:
            await self.clock.sleep(response["Delay"])
        if "Throw" in response:
            thrown = response["Throw"]
            raise TaskError(thrown["Error"], thrown.get("Cause"))
        return response.get("Return")

    def payloads(self, resource: str) -> list[Any]:
        return [call.payload for call in self.calls if call.resource == resource]


def returns(value: Any, delay: float = 0) -> dict[str, Any]:
    return {"Return": value, "Delay": delay}


def throws(error: str, cause: str | None = None, delay: float = 0) -> dict[str, Any]:
    return {"Throw": {"Error": error, "Cause": cause}, "Delay": delay}


def task_machine(state: Mapping[str, Any], **extra_states: Any) -> dict[str, Any]:
    """A one-Task machine (plus optional extra states) around `state`."""
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
    task.update(state)
    return {"StartAt": "Work", "States": {"Work": task, **extra_states}}


def one(state: dict[str, Any]) -> dict[str, Any]:
    """A machine of one state, given End: true unless its type ends executions by itself."""
    terminal = state["Type"] in ("Choice", "Succeed", "Fail")
    return {"StartAt": "S", "States": {"S": state if terminal else {"End": True, **state}}}


def run(definition: dict[str, Any], data: Any = None, **kwargs: Any) -> Execution:
    return execute(definition, {} if data is None else data, **kwargs)


def types(execution: Execution) -> list[str]:
    return [event["type"] for event in execution.history]
