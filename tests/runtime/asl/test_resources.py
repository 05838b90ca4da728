import asyncio

import pytest

from runtime.asl import ManualClock, NoResources, ResourceMap, TaskError, TaskTokens
from runtime.asl.errors import HEARTBEAT_TIMEOUT, TASK_FAILED
from runtime.asl.resources import classify


@pytest.mark.parametrize(
    ("arn", "family", "resource_type", "resource", "pattern"),
    [
        ("arn:aws:states:::lambda:invoke", "Task", "lambda", "invoke", "request-response"),
        (
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Task",
            "sqs",
            "sendMessage.waitForTaskToken",
            "callback",
        ),
        (
            "arn:aws:states:::aws-sdk:s3:listBuckets",
            "Task",
            "aws-sdk:s3",
            "listBuckets",
            "request-response",
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            "Task",
            "states",
            "startExecution.sync:2",
            "sync",
        ),
        (
            "arn:aws:lambda:us-east-1:1:function:f",
            "LambdaFunction",
            "lambda",
            "arn:aws:lambda:us-east-1:1:function:f",
            "request-response",
        ),
        (
            "arn:aws:states:us-east-1:1:activity:a",
            "Activity",
            "activity",
            "arn:aws:states:us-east-1:1:activity:a",
            "request-response",
        ),
    ],
)
def test_resources_are_classified_by_arn(arn, family, resource_type, resource, pattern):
    kind = classify(arn)
    assert (kind.family, kind.resource_type, kind.resource, kind.pattern) == (
        family,
        resource_type,
        resource,
        pattern,
    )


async def test_no_resources_fails_every_task():
    with pytest.raises(TaskError) as failure:
        await NoResources().invoke("arn:x", {}, token=None)
    assert failure.value.error == TASK_FAILED


async def test_resource_maps_pass_the_token_when_the_handler_wants_it():
    seen = []
    resources = ResourceMap({"a": lambda payload, token: seen.append(token) or payload})
    assert await resources.invoke("a", {"x": 1}, token="t-1") == {"x": 1}
    assert seen == ["t-1"]


async def test_tokens_deliver_success_and_reject_unknown_tokens():
    tokens = TaskTokens()
    tokens.open("t")
    tokens.send_task_success("t", 5)
    assert await tokens.wait("t", None, ManualClock()) == 5
    with pytest.raises(KeyError):
        tokens.send_task_success("other", 1)


async def test_a_missing_heartbeat_times_the_callback_out():
    clock, tokens = ManualClock(), TaskTokens()
    tokens.open("t")

    async def beat_once() -> None:
        await clock.sleep(4)
        tokens.send_task_heartbeat("t")

    async with asyncio.TaskGroup() as group:
        group.create_task(beat_once())
        with pytest.raises(TaskError) as failure:
            await tokens.wait("t", 5, clock)
    assert failure.value.error == HEARTBEAT_TIMEOUT
    assert clock.now() - 1_767_225_600 == 9
