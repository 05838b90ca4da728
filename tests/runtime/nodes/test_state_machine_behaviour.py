"""The state_machine node at run time (playbook style, on a manual clock): executions per message,
Task states calling the topology's functions, queues, topics, buses and state machines, Wait
states and retries on the clock, outcomes along the out-edges, and what the live view hears."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from designer.demo import PAYMENT_WORKFLOW
from runtime.engine import Engine
from runtime.events import ListObserver
from runtime.nodes.state_machine import (
    ExecutionStateChanged,
    ExecutionStatusChanged,
    InvalidToken,
    StartRefused,
    StateMachineNode,
    find_waiting,
    run_headless,
)
from runtime.spec import load
from tests.builders import make_document
from tests.runtime.engine_helpers import edge, engine_for, node

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/"


def machine(definition: dict[str, Any], node_id: str = "flow", **config: Any) -> dict[str, Any]:
    return node(node_id, "state_machine", definition=definition, **config)


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, **fields, "End": True}},
    }


@asynccontextmanager
async def run(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> AsyncIterator[tuple[Engine, ListObserver]]:
    engine, _, observer = engine_for(nodes, list(edges))
    await engine.start()
    try:
        await engine.settle()
        yield engine, observer
    finally:
        await engine.stop()


def flow(engine: Engine, node_id: str = "flow") -> StateMachineNode:
    found = engine.node(node_id)
    assert isinstance(found, StateMachineNode)
    return found


def only(engine: Engine, node_id: str = "flow") -> Any:
    executions = list(flow(engine, node_id).executions.values())
    assert len(executions) == 1
    return executions[0]


def received(engine: Engine, node_id: str) -> list[Any]:
    return [message.body for _, message in engine.node(node_id).entries]  # type: ignore[attr-defined]


def demo_nodes(failure_rate: float) -> list[dict[str, Any]]:
    return [
        machine(copy.deepcopy(PAYMENT_WORKFLOW), "payment-workflow"),
        node("charge-card", "function", failure_rate=failure_rate),
        node("outcomes", "log"),
    ]


DEMO_EDGES = [
    edge("calls", "payment-workflow", "charge-card"),
    edge("out", "payment-workflow", "outcomes"),
]


# --- executions per message -----------------------------------------------------------------


async def test_each_message_starts_one_execution_whose_output_flows_on() -> None:
    passing = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Result": {"ok": 1}, "ResultPath": "$.r", "End": True}},
    }
    async with run([machine(passing), node("sink", "log")], [edge("e", "flow", "sink")]) as (
        engine,
        _,
    ):
        for number in range(3):
            await engine.send("flow", {"n": number})
        await engine.settle()
        executions = list(flow(engine).executions.values())
        assert [e.status for e in executions] == ["SUCCEEDED"] * 3
        assert sorted(body["n"] for body in received(engine, "sink")) == [0, 1, 2]
        assert all(body["r"] == {"ok": 1} for body in received(engine, "sink"))
        assert engine.snapshot()["nodes"]["flow"]["executions"]["succeeded"] == 3


async def test_a_message_body_holding_json_text_is_parsed_as_the_input() -> None:
    passing = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    async with run([machine(passing)]) as (engine, _):
        await engine.send("flow", '{"a": 1}')
        await engine.settle()
        assert only(engine).output == {"a": 1}


async def test_a_redelivered_message_starts_no_second_execution() -> None:
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": True}}}
    async with run([machine(waiting)]) as (engine, _):
        message = await engine.send("flow", {"a": 1})
        await flow(engine).accept([message], None)
        assert len(flow(engine).executions) == 1
        assert flow(engine).stats.duplicates == 1


# --- the demo workflow: Task → function with Retry, Choice, Parallel -------------------------


async def test_the_demo_workflow_ships_a_small_order_in_parallel() -> None:
    async with run(demo_nodes(0.0), DEMO_EDGES) as (engine, _):
        await engine.send("payment-workflow", {"detail": {"total": 120}})
        await engine.settle()
        execution = only(engine, "payment-workflow")
        assert execution.status == "SUCCEEDED"
        assert execution.tracker.statuses == {
            "ChargeCard": "succeeded",
            "BigOrder?": "succeeded",
            "ShipAndNotify": "succeeded",
            "ReserveStock": "succeeded",
            "NotifyCustomer": "succeeded",
        }
        assert len(execution.output) == 2  # one output per branch
        assert engine.snapshot()["edges"] == {"calls": 1, "out": 1}  # the call, then the outcome
        assert received(engine, "outcomes") == [execution.output]


async def test_the_demo_workflow_sends_a_big_order_to_manual_review() -> None:
    async with run(demo_nodes(0.0), DEMO_EDGES) as (engine, _):
        await engine.send("payment-workflow", {"detail": {"total": 5000}})
        await engine.settle()
        execution = only(engine, "payment-workflow")
        assert execution.output == {"review": "queued"}
        assert "ShipAndNotify" not in execution.tracker.statuses


async def test_injected_function_failures_are_retried_on_the_clock_then_caught() -> None:
    async with run(demo_nodes(1.0), DEMO_EDGES) as (engine, _):
        await engine.send("payment-workflow", {"detail": {"total": 10}})
        await engine.settle()
        execution = only(engine, "payment-workflow")

        def scheduled() -> int:
            return [e["type"] for e in execution.history].count("LambdaFunctionScheduled")

        assert scheduled() == 1 and execution.status == "RUNNING"
        await engine.advance(1.9)
        assert scheduled() == 1  # the first retry waits IntervalSeconds = 2
        await engine.advance(0.1)
        assert scheduled() == 2
        await engine.advance(4 + 8)  # BackoffRate 2: then 4 s, then 8 s
        assert scheduled() == 4
        assert execution.status == "FAILED"
        assert (execution.error, execution.cause) == (
            "PaymentFailed",
            "The card could not be charged.",
        )
        assert execution.tracker.statuses["ChargeCard"] == "caught"
        assert execution.tracker.statuses["PaymentFailed"] == "failed"
        assert engine.node("charge-card").stats.errors == 4
        failure = received(engine, "outcomes")[0]
        assert failure["Error"] == "PaymentFailed" and failure["Status"] == "FAILED"
        assert flow(engine, "payment-workflow").stats.errors == 1


async def test_a_function_error_is_named_as_lambda_names_it() -> None:
    async with run([machine(task(LAMBDA + "f")), node("f", "function", failure_rate=1.0)]) as (
        engine,
        _,
    ):
        await engine.send("flow", {})
        await engine.settle()
        execution = only(engine)
        assert execution.error == "Error"
        assert '"errorMessage":"Injected failure (failure_rate)"' in execution.cause


async def test_lambda_invoke_wraps_the_function_output_in_payload() -> None:
    definition = task(
        "arn:aws:states:::lambda:invoke",
        Parameters={"FunctionName": LAMBDA + "f:$LATEST", "Payload": {"x.$": "$.x"}},
        ResultSelector={"got.$": "$.Payload", "code.$": "$.StatusCode"},
    )
    jsonata = '{"doubled": x * 2}'
    nodes = [machine(definition), node("f", "function", transform="jsonata", jsonata=jsonata)]
    async with run(nodes) as (engine, _):
        await engine.send("flow", {"x": 21})
        await engine.settle()
        assert only(engine).output == {"got": {"doubled": 42}, "code": 200}


async def test_a_task_naming_a_missing_node_fails_with_a_readable_cause() -> None:
    async with run([machine(task(LAMBDA + "nobody"))]) as (engine, _):
        await engine.send("flow", {})
        await engine.settle()
        execution = only(engine)
        assert execution.error == "Lambda.ResourceNotFoundException"
        assert "no node 'nobody'" in execution.cause


# --- queues, topics, buses --------------------------------------------------------------------


async def test_wait_for_task_token_via_a_queue_resumes_on_send_task_success() -> None:
    definition = task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        Parameters={
            "QueueUrl": QUEUE_URL + "jobs",
            "MessageBody": {"token.$": "$$.Task.Token", "job.$": "$.job"},
        },
    )
    async with run([machine(definition), node("jobs", "queue")], [edge("e", "flow", "jobs")]) as (
        engine,
        _,
    ):
        await engine.send("flow", {"job": "resize"})
        await engine.settle()
        execution = only(engine)
        assert execution.status == "RUNNING"
        got = await engine.node("jobs").receive(1, wait=0)  # type: ignore[attr-defined]
        body = got[0].message.body
        assert body["job"] == "resize"
        assert execution.summary()["waiting_tokens"] == [body["token"]]
        assert find_waiting(engine, body["token"]) is flow(engine)
        flow(engine).send_task_success(body["token"], {"done": True})
        await engine.settle()
        assert execution.status == "SUCCEEDED" and execution.output == {"done": True}
        assert "TaskSubmitted" in [e["type"] for e in execution.history]
        with pytest.raises(InvalidToken):
            flow(engine).send_task_success(body["token"], {})


async def test_send_task_failure_fails_the_waiting_task() -> None:
    definition = task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        Parameters={"QueueUrl": QUEUE_URL + "jobs", "MessageBody": {"t.$": "$$.Task.Token"}},
    )
    async with run([machine(definition), node("jobs", "queue")]) as (engine, _):
        await engine.send("flow", {})
        await engine.settle()
        token = only(engine).summary()["waiting_tokens"][0]
        flow(engine).send_task_failure(token, "Job.Broken", "the printer is on fire")
        await engine.settle()
        assert (only(engine).error, only(engine).cause) == ("Job.Broken", "the printer is on fire")


async def test_sns_publish_reaches_the_topic_subscribers() -> None:
    definition = task(
        "arn:aws:states:::sns:publish",
        Parameters={
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
            "Message.$": "$.text",
            "MessageAttributes": {"level": {"DataType": "String", "StringValue": "high"}},
        },
    )
    nodes = [machine(definition), node("alerts", "topic"), node("inbox", "log")]
    edges = [edge("e1", "flow", "alerts"), edge("e2", "alerts", "inbox")]
    async with run(nodes, edges) as (engine, _):
        await engine.send("flow", {"text": "disk full"})
        await engine.settle()
        assert set(only(engine).output) == {"MessageId"}
        envelope = received(engine, "inbox")[0]
        assert envelope["Message"] == "disk full"
        assert envelope["MessageAttributes"]["level"]["Value"] == "high"


async def test_events_put_events_reaches_the_bus_by_name() -> None:
    definition = task(
        "arn:aws:states:::events:putEvents",
        Parameters={
            "Entries": [
                {"Source": "shop", "DetailType": "Paid", "Detail.$": "$", "EventBusName": "orders"}
            ]
        },
    )
    nodes = [machine(definition), node("orders-bus", "event_bus", bus_name="orders")]
    async with run(nodes) as (engine, _):
        await engine.send("flow", {"order": 7})
        await engine.settle()
        output = only(engine).output
        assert output["FailedEntryCount"] == 0 and len(output["Entries"]) == 1
        assert engine.node("orders-bus").stats.received == 1


async def test_an_entry_the_bus_refuses_fails_the_task() -> None:
    definition = task(
        "arn:aws:states:::events:putEvents",
        Parameters={"Entries": [{"DetailType": "Paid", "Detail": {}}]},
    )
    nodes = [machine(definition), node("bus", "event_bus")]
    async with run(nodes, [edge("e", "flow", "bus")]) as (engine, _):
        await engine.send("flow", {})
        await engine.settle()
        assert only(engine).error == "EventBridge.FailedEntry"


# --- nested state machines --------------------------------------------------------------------


def parent(resource: str) -> dict[str, Any]:
    return task(
        resource,
        Parameters={
            "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child",
            "Input": {"n.$": "$.n"},
        },
    )


CHILD = {
    "StartAt": "Double",
    "States": {
        "Double": {
            "Type": "Pass",
            "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"},
            "End": True,
        }
    },
}


async def test_start_execution_sync_2_returns_the_child_output_as_json() -> None:
    nodes = [
        machine(parent("arn:aws:states:::states:startExecution.sync:2")),
        machine(CHILD, "child"),
    ]
    async with run(nodes, [edge("e", "flow", "child")]) as (engine, _):
        await engine.send("flow", {"n": 4})
        await engine.settle()
        output = only(engine).output
        assert output["Status"] == "SUCCEEDED" and output["Output"] == {"twice": 8}
        assert only(engine, "child").source == "parent"
        assert engine.snapshot()["edges"] == {"e": 1}  # a call, not an outcome


async def test_start_execution_sync_gives_the_child_output_as_text() -> None:
    nodes = [
        machine(parent("arn:aws:states:::states:startExecution.sync")),
        machine(CHILD, "child"),
    ]
    async with run(nodes) as (engine, _):
        await engine.send("flow", {"n": 1})
        await engine.settle()
        assert only(engine).output["Output"] == '{"twice":2}'


async def test_a_failing_child_fails_the_sync_task() -> None:
    failing = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "no"}}}
    nodes = [
        machine(parent("arn:aws:states:::states:startExecution.sync:2")),
        machine(failing, "child"),
    ]
    async with run(nodes) as (engine, _):
        await engine.send("flow", {"n": 1})
        await engine.settle()
        assert only(engine).error == "States.TaskFailed"
        assert '"Status":"FAILED"' in only(engine).cause


async def test_start_execution_without_sync_returns_the_child_arn_at_once() -> None:
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    nodes = [machine(parent("arn:aws:states:::states:startExecution")), machine(waiting, "child")]
    async with run(nodes) as (engine, _):
        await engine.send("flow", {"n": 1})
        await engine.settle()
        assert only(engine).status == "SUCCEEDED"
        assert (
            only(engine)
            .output["ExecutionArn"]
            .startswith("arn:aws:states:us-east-1:123456789012:execution:child:")
        )
        assert only(engine, "child").status == "RUNNING"
        await engine.advance(60)
        assert only(engine, "child").status == "SUCCEEDED"


# --- time, limits, failures -------------------------------------------------------------------


async def test_a_wait_state_waits_on_the_engine_clock() -> None:
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
            "P": {"Type": "Pass", "End": True},
        },
    }
    async with run([machine(definition)]) as (engine, _):
        await engine.send("flow", {})
        await engine.advance(3599)
        assert only(engine).status == "RUNNING"
        assert only(engine).tracker.statuses == {"W": "running"}
        await engine.advance(1)
        assert only(engine).status == "SUCCEEDED"


async def test_a_failed_execution_sends_its_error_and_cause_on_counted_as_an_error() -> None:
    failing = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "very"}}}
    async with run([machine(failing), node("sink", "log")], [edge("e", "flow", "sink")]) as (
        engine,
        _,
    ):
        await engine.send("flow", {"a": 1})
        await engine.settle()
        body = received(engine, "sink")[0]
        assert (body["Error"], body["Cause"], body["Input"]) == ("Bad", "very", {"a": 1})
        assert flow(engine).stats.errors == 1
        assert engine.snapshot()["nodes"]["flow"]["executions"]["failed"] == 1


async def test_an_execution_past_25000_history_events_fails_explicitly() -> None:
    looping = {
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Next": "Again?"},
            "Again?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
                "Default": "Spin",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    async with run([machine(looping)]) as (engine, _):
        await engine.send("flow", {})
        await engine.settle(rounds=2000)
        execution = only(engine)
        assert execution.status == "FAILED"
        assert execution.error == "States.Runtime"
        assert "maximum number of history events (25000)" in execution.cause
        assert len(execution.history) == 25_001  # the closing ExecutionFailed may pass the limit


async def test_an_invalid_definition_makes_the_node_not_runnable_and_refuses_starts() -> None:
    broken = {"StartAt": "Missing", "States": {"P": {"Type": "Pass", "End": True}}}
    engine, _, _ = engine_for([machine(broken)])
    with pytest.raises(StartRefused) as refused:
        await flow(engine).start_execution({})
    assert refused.value.code == "InvalidDefinition"
    assert flow(engine).state.value == "not_runnable"


# --- starting from the API and the UI, names, Express -----------------------------------------


async def test_start_execution_returns_the_arn_and_sync_awaits_the_description() -> None:
    passing = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    async with run([machine(passing)]) as (engine, _):
        arn = await flow(engine).start_execution({"a": 1}, name="first")
        assert arn == "arn:aws:states:us-east-1:123456789012:execution:flow:first"
        described = await flow(engine).start_sync_execution({"b": 2})
        assert described["status"] == "SUCCEEDED" and described["output"] == '{"b":2}'
        await engine.settle()
        assert flow(engine).executions["first"].status == "SUCCEEDED"


async def test_reusing_an_execution_name_is_refused_once_it_ended() -> None:
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
    async with run([machine(waiting)]) as (engine, _):
        first = await flow(engine).start_execution({"a": 1}, name="same")
        assert await flow(engine).start_execution({"a": 1}, name="same") == first  # idempotent
        with pytest.raises(StartRefused, match="ExecutionAlreadyExists"):
            await flow(engine).start_execution({"a": 2}, name="same")
        await engine.advance(5)
        with pytest.raises(StartRefused, match="ExecutionAlreadyExists"):
            await flow(engine).start_execution({"a": 1}, name="same")


async def test_express_machines_keep_no_history_unless_logging_all() -> None:
    passing = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    nodes = [
        machine(passing, type="EXPRESS"),
        machine(passing, "logged", type="EXPRESS", log_level="ALL"),
    ]
    async with run(nodes) as (engine, _):
        await engine.send("flow", {})
        await engine.send("logged", {})
        await engine.settle()
        assert only(engine).history == [] and not only(engine).history_kept
        assert len(only(engine, "logged").history) == 4


async def test_stop_execution_aborts_a_running_execution() -> None:
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 50, "End": True}}}
    async with run([machine(waiting)]) as (engine, _):
        await flow(engine).start_execution({}, name="x")
        await engine.settle()
        assert flow(engine).stop_execution("x", "Stopped", "by a test")
        await engine.settle()
        assert flow(engine).executions["x"].status == "ABORTED"
        assert flow(engine).executions["x"].tracker.statuses == {"W": "aborted"}


# --- what the live view and the execution view get --------------------------------------------


async def test_state_changes_are_emitted_for_the_live_view() -> None:
    async with run(demo_nodes(0.0), DEMO_EDGES) as (engine, observer):
        await engine.send("payment-workflow", {"detail": {"total": 5000}})
        await engine.settle()
        changes = [(e.state, e.status) for e in observer.of(ExecutionStateChanged)]
        assert changes == [
            ("ChargeCard", "running"),
            ("ChargeCard", "succeeded"),
            ("BigOrder?", "running"),
            ("BigOrder?", "succeeded"),
            ("ManualReview", "running"),
            ("ManualReview", "succeeded"),
        ]
        statuses = [e.status for e in observer.of(ExecutionStatusChanged)]
        assert statuses == ["RUNNING", "SUCCEEDED"]
        gauges = engine.snapshot()["nodes"]["payment-workflow"]["latest"]
        assert gauges["status"] == "SUCCEEDED" and gauges["states"]["ManualReview"] == "succeeded"


async def test_each_processing_step_of_a_state_is_recorded() -> None:
    definition = {
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass",
                "InputPath": "$.order",
                "Parameters": {"id.$": "$.id"},
                "ResultPath": "$.shaped",
                "OutputPath": "$.shaped",
                "End": True,
            }
        },
    }
    async with run([machine(definition)]) as (engine, _):
        await engine.send("flow", {"order": {"id": 9, "x": 1}})
        await engine.settle()
        steps = only(engine).to_dict()["steps"]
        assert list(steps.values())[0] == [
            ["InputPath", '{"id":9,"x":1}'],
            ["Parameters", '{"id":9}'],
            ["Result", '{"id":9}'],
            ["ResultPath", '{"order":{"id":9,"x":1},"shaped":{"id":9}}'],
            ["OutputPath", '{"id":9}'],
        ]


async def test_a_headless_run_needs_no_deployment_and_takes_no_wall_time() -> None:
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 86400, "Next": "T"},
            "T": {"Type": "Task", "Resource": LAMBDA + "f", "End": True},
        },
    }
    spec = load(make_document(nodes=[machine(definition), node("f", "function", latency_ms=500)]))
    record = await run_headless(spec, "flow", {"a": 1})
    assert record.status == "SUCCEEDED" and record.output == {"a": 1}
    assert record.to_dict()["statuses"] == {"W": "succeeded", "T": "succeeded"}


async def test_a_headless_callback_is_stopped_with_a_cause_that_says_why() -> None:
    definition = task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        Parameters={"QueueUrl": QUEUE_URL + "jobs", "MessageBody": {"t.$": "$$.Task.Token"}},
    )
    spec = load(make_document(nodes=[machine(definition), node("jobs", "queue")]))
    record = await run_headless(spec, "flow", {}, wall_timeout=0.05)
    assert record.status == "ABORTED"
    assert "Not deployed" in (record.cause or "")


async def test_the_node_query_language_applies_when_the_definition_names_none() -> None:
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": "{% $states.input.a + 1 %}", "End": True}},
    }
    async with run([machine(definition, query_language="JSONata")]) as (engine, _):
        await engine.send("flow", {"a": 1})
        await engine.settle()
        assert only(engine).output == 2


def test_a_jsonata_node_lints_its_definition_as_jsonata() -> None:
    from runtime.nodes.state_machine import StateMachine

    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": "{% $states.input %}", "End": True}},
    }
    config = {**StateMachine.defaults(), "definition": definition}
    assert StateMachine.semantic_checks({**config, "query_language": "JSONata"}) == []
    assert StateMachine.semantic_checks(config) != []


async def test_stopping_the_run_aborts_the_executions_still_running() -> None:
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 50, "End": True}}}
    engine, _, _ = engine_for([machine(waiting)])
    await engine.start()
    await flow(engine).start_execution({}, name="late")
    await engine.settle()
    await engine.stop()
    record = flow(engine).executions["late"]
    assert (record.status, record.error) == ("ABORTED", "Flowyard.RunStopped")
    assert flow(engine).running == 0
