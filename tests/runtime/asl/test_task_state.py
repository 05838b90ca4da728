"""The Task state: results, resources, callbacks and heartbeats (spec 6.2, 6.8)."""

import asyncio

from runtime.asl import (
    ExecutionRun,
    ManualClock,
    ResourceMap,
    StateMachine,
    TaskError,
    TaskTokens,
)
from runtime.asl.errors import (
    HEARTBEAT_TIMEOUT,
    RESULT_PATH_MATCH_FAILURE,
    TASK_FAILED,
)
from runtime.clock import DEFAULT_MANUAL_START
from tests.runtime.asl.mocks import MockResources, returns, run, task_machine, types

LAMBDA = "arn:aws:states:::lambda:invoke"
QUEUE = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


# --- Task ----------------------------------------------------------------------------------


def test_result_selector_reads_the_task_result():
    resources = MockResources({LAMBDA: [returns({"Payload": {"n": 1}, "StatusCode": 200})]})
    state = {"ResultSelector": {"p.$": "$.Payload"}, "ResultPath": "$.r"}
    execution = run(task_machine(state), {"in": 1}, resources=resources)
    assert execution.output == {"in": 1, "r": {"p": {"n": 1}}}


def test_a_result_path_through_a_string_fails_catchably():
    resources = MockResources({LAMBDA: [returns(1)]})
    state = {
        "ResultPath": "$.a.b",
        "Catch": [{"ErrorEquals": [RESULT_PATH_MATCH_FAILURE], "Next": "Caught"}],
    }
    definition = task_machine(state, Caught={"Type": "Pass", "End": True})
    execution = run(definition, {"a": "text"}, resources=resources)
    assert execution.output["Error"] == RESULT_PATH_MATCH_FAILURE


def test_a_task_without_a_resource_handler_fails_as_task_failed():
    execution = run(task_machine({}))
    assert (execution.status, execution.error) == ("FAILED", TASK_FAILED)
    assert "arn:aws:states:::lambda:invoke" in execution.cause


def test_resource_maps_accept_sync_and_async_handlers():
    async def slow(payload):
        return {"got": payload}

    resources = ResourceMap({LAMBDA: slow, "arn:other": lambda payload: 7})
    assert run(task_machine({}), {"a": 1}, resources=resources).output == {"got": {"a": 1}}
    other = task_machine({"Resource": "arn:other"})
    assert run(other, resources=resources).output == 7


def test_an_exception_in_a_handler_fails_the_task_with_its_type():
    def broken(payload):
        raise ValueError("bad input")

    execution = run(task_machine({}), resources=ResourceMap({LAMBDA: broken}))
    assert (execution.error, execution.cause) == ("ValueError", "bad input")


def test_a_lambda_function_arn_records_lambda_events():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    execution = run(task_machine({"Resource": arn}), resources=ResourceMap({arn: lambda p: 1}))
    assert types(execution)[2:5] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]
    failing = ResourceMap({arn: lambda p: (_ for _ in ()).throw(TaskError("Boom", "x"))})
    assert "LambdaFunctionFailed" in types(run(task_machine({"Resource": arn}), resources=failing))


def test_an_activity_records_activity_events():
    arn = "arn:aws:states:us-east-1:123456789012:activity:work"
    execution = run(task_machine({"Resource": arn}), resources=ResourceMap({arn: lambda p: 1}))
    assert types(execution)[2:5] == ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]


async def test_wait_for_task_token_pauses_until_send_task_success():
    clock, tokens, sent = ManualClock(), TaskTokens(), []

    def send(payload, token):
        sent.append(payload)
        return {"MessageId": "m-1"}

    state = {
        "Resource": QUEUE,
        "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
    }
    machine = StateMachine(task_machine(state))
    execution_run = ExecutionRun(
        machine, {}, clock=clock, tokens=tokens, resources=ResourceMap({QUEUE: send})
    )

    async def worker() -> None:
        while not sent:
            await asyncio.sleep(0)
        await clock.sleep(30)
        tokens.send_task_success(sent[0]["MessageBody"]["token"], {"approved": True})

    async with asyncio.TaskGroup() as group:
        running = group.create_task(execution_run.run())
        group.create_task(worker())
    execution = running.result()
    assert execution.output == {"approved": True}
    assert clock.now() - DEFAULT_MANUAL_START == 30
    assert types(execution)[2:6] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]


async def test_send_task_failure_fails_the_waiting_task():
    tokens, sent = TaskTokens(), []
    machine = StateMachine(task_machine({"Resource": QUEUE}))
    resources = ResourceMap({QUEUE: lambda payload, token: sent.append(token) or {}})
    execution_run = ExecutionRun(machine, {}, tokens=tokens, resources=resources)

    async def worker() -> None:
        while not sent:
            await asyncio.sleep(0)
        tokens.send_task_failure(sent[0], "Rejected", "not today")

    async with asyncio.TaskGroup() as group:
        running = group.create_task(execution_run.run())
        group.create_task(worker())
    execution = running.result()
    assert (execution.error, execution.cause) == ("Rejected", "not today")


async def test_heartbeats_keep_a_callback_alive_and_their_absence_times_it_out():
    clock, tokens, sent = ManualClock(), TaskTokens(), []
    machine = StateMachine(task_machine({"Resource": QUEUE, "HeartbeatSeconds": 10}))
    resources = ResourceMap({QUEUE: lambda payload, token: sent.append(token) or {}})
    execution_run = ExecutionRun(machine, {}, clock=clock, tokens=tokens, resources=resources)

    async def worker() -> None:
        while not sent:
            await asyncio.sleep(0)
        for _ in range(3):
            await clock.sleep(8)
            tokens.send_task_heartbeat(sent[0])

    async with asyncio.TaskGroup() as group:
        running = group.create_task(execution_run.run())
        group.create_task(worker())
    execution = running.result()
    assert execution.error == HEARTBEAT_TIMEOUT
    assert clock.now() - DEFAULT_MANUAL_START == 34  # last heartbeat at 24, then 10 s
    assert "TaskTimedOut" in types(execution)


def test_sync_integrations_return_when_the_resource_does():
    clock = ManualClock()
    arn = "arn:aws:states:::states:startExecution.sync:2"
    resources = MockResources({arn: [returns({"Output": {"done": 1}}, delay=60)]}, clock)
    execution = run(task_machine({"Resource": arn}), clock=clock, resources=resources)
    assert execution.output == {"Output": {"done": 1}}
    assert clock.now() - DEFAULT_MANUAL_START == 60
