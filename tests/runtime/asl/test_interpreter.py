"""Execution lifecycle: history, retry/catch, timeouts, stop, limits, context and variables."""

import asyncio
import json
import random

import pytest

from runtime.asl import (
    ExecutionRun,
    ExecutionStatus,
    InvalidDefinition,
    InvalidExecutionInput,
    ManualClock,
    StateMachine,
    aexecute,
    execute,
)
from runtime.asl.errors import DATA_LIMIT_EXCEEDED, RUNTIME, TIMEOUT
from runtime.clock import DEFAULT_MANUAL_START
from tests.runtime.asl.mocks import MockResources, returns, task_machine, throws

LAMBDA = "arn:aws:states:::lambda:invoke"


def pass_machine(**state) -> dict:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True, **state}}}


def elapsed(clock: ManualClock) -> float:
    return clock.now() - DEFAULT_MANUAL_START


def test_a_pass_only_machine_succeeds_with_the_canonical_history():
    execution = execute(pass_machine(), {"a": 1})
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.output == {"a": 1}
    types = [event["type"] for event in execution.history]
    assert types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_history_events_are_numbered_and_chained_like_aws():
    execution = execute(pass_machine(Result={"x": 1}), {"a": 1})
    ids = [(event["id"], event["previousEventId"]) for event in execution.history]
    assert ids == [(1, 0), (2, 1), (3, 2), (4, 3)]
    entered = execution.history[1]["stateEnteredEventDetails"]
    assert entered == {"name": "P", "input": '{"a":1}', "inputDetails": {"truncated": False}}
    exited = execution.history[2]["stateExitedEventDetails"]
    assert exited["output"] == '{"x":1}'
    done = execution.history[3]["executionSucceededEventDetails"]
    assert json.loads(done["output"]) == {"x": 1}


def test_a_definition_may_be_given_as_json_text():
    execution = execute(json.dumps(pass_machine()), {"k": "v"})
    assert execution.output == {"k": "v"}


def test_an_invalid_definition_is_refused_before_running():
    with pytest.raises(InvalidDefinition) as refused:
        StateMachine({"StartAt": "Missing", "States": {"P": {"Type": "Pass", "End": True}}})
    assert refused.value.errors[0].path == "/StartAt"


def test_the_optimized_lambda_task_history_is_the_canonical_sequence():
    resources = MockResources({LAMBDA: [returns({"Payload": 1})]})
    execution = execute(task_machine({}), {}, resources=resources)
    types = [event["type"] for event in execution.history]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = execution.history[2]["taskScheduledEventDetails"]
    assert scheduled["resourceType"] == "lambda"
    assert scheduled["resource"] == "invoke"


def test_a_retried_task_waits_with_backoff_then_succeeds():
    clock = ManualClock()
    retry = [{"ErrorEquals": ["Err"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 3}]
    resources = MockResources({LAMBDA: [throws("Err"), throws("Err"), returns("ok")]}, clock)
    execution = execute(task_machine({"Retry": retry}), {}, clock=clock, resources=resources)
    assert execution.output == "ok"
    assert [call.time - DEFAULT_MANUAL_START for call in resources.calls] == [0, 1, 3]
    types = [event["type"] for event in execution.history]
    assert types.count("TaskScheduled") == 3
    assert types[-3:] == ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]


def test_max_attempts_zero_never_retries():
    clock = ManualClock()
    retry = [{"ErrorEquals": ["Err"], "MaxAttempts": 0}]
    resources = MockResources({LAMBDA: [throws("Err", "boom")]}, clock)
    execution = execute(task_machine({"Retry": retry}), {}, clock=clock, resources=resources)
    assert (execution.status, execution.error, execution.cause) == ("FAILED", "Err", "boom")
    assert len(resources.calls) == 1
    assert [event["type"] for event in execution.history][-2:] == ["TaskFailed", "ExecutionFailed"]


def test_max_delay_seconds_caps_the_backoff():
    clock = ManualClock()
    retry = [{"ErrorEquals": ["Err"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxDelaySeconds": 3}]
    resources = MockResources({LAMBDA: [throws("Err")] * 3 + [returns(1)]}, clock)
    execute(task_machine({"Retry": retry}), {}, clock=clock, resources=resources)
    times = [call.time - DEFAULT_MANUAL_START for call in resources.calls]
    assert times == [0, 2, 5, 8]


def test_full_jitter_waits_at_most_the_computed_delay():
    clock = ManualClock()
    retry = [{"ErrorEquals": ["Err"], "IntervalSeconds": 10, "JitterStrategy": "FULL"}]
    resources = MockResources({LAMBDA: [throws("Err"), returns(1)]}, clock)
    execute(
        task_machine({"Retry": retry}), {}, clock=clock, resources=resources, rng=random.Random(1)
    )
    assert 0 <= resources.calls[1].time - DEFAULT_MANUAL_START <= 10


def test_only_the_first_matching_retrier_is_used_then_catch_applies():
    clock = ManualClock()
    retry = [
        {
            "ErrorEquals": ["ErrorA", "ErrorB"],
            "IntervalSeconds": 1,
            "BackoffRate": 2,
            "MaxAttempts": 2,
        },
        {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5},
    ]
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]
    answers = [throws("ErrorA"), throws("ErrorB"), throws("ErrorC"), throws("ErrorB")]
    resources = MockResources({LAMBDA: answers}, clock)
    definition = task_machine({"Retry": retry, "Catch": catch}, Z={"Type": "Pass", "End": True})
    execution = execute(definition, {}, clock=clock, resources=resources)
    assert execution.output == {"Error": "ErrorB"}
    assert [call.time - DEFAULT_MANUAL_START for call in resources.calls] == [0, 1, 3, 8]


def test_an_exhausted_first_retrier_does_not_fall_through_to_a_later_one():
    retry = [
        {"ErrorEquals": ["A"], "MaxAttempts": 1},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
    ]
    resources = MockResources({LAMBDA: [throws("A")]})
    execution = execute(task_machine({"Retry": retry}), {}, resources=resources)
    assert execution.error == "A"
    assert len(resources.calls) == 2


def test_a_catcher_with_result_path_keeps_the_original_input():
    catch = [{"ErrorEquals": ["X"], "ResultPath": "$.err", "Next": "After"}]
    definition = task_machine({"Catch": catch}, After={"Type": "Pass", "End": True})
    resources = MockResources({LAMBDA: [throws("X", "why")]})
    execution = execute(definition, {"keep": 1}, resources=resources)
    assert execution.output == {"keep": 1, "err": {"Error": "X", "Cause": "why"}}
    types = [event["type"] for event in execution.history]
    assert types[-5:] == [
        "TaskFailed",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_task_failed_does_not_catch_timeouts_but_all_does():
    clock = ManualClock()
    slow = MockResources({LAMBDA: [returns(1, delay=2)]}, clock)
    task_failed = task_machine(
        {"TimeoutSeconds": 1, "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Z"}]},
        Z={"Type": "Pass", "End": True},
    )
    execution = execute(task_failed, {}, clock=clock, resources=slow)
    assert (execution.status, execution.error) == ("FAILED", TIMEOUT)
    assert "TaskTimedOut" in [event["type"] for event in execution.history]
    assert elapsed(clock) == 1
    clock = ManualClock()
    slow = MockResources({LAMBDA: [returns(1, delay=2)]}, clock)
    catch_all = task_machine(
        {"TimeoutSeconds": 1, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]},
        Z={"Type": "Pass", "End": True},
    )
    assert execute(catch_all, {}, clock=clock, resources=slow).output["Error"] == TIMEOUT


def test_timeout_seconds_path_reads_the_effective_input():
    clock = ManualClock()
    slow = MockResources({LAMBDA: [returns(1, delay=30)]}, clock)
    definition = task_machine({"TimeoutSecondsPath": "$.limit"})
    execution = execute(definition, {"limit": 10}, clock=clock, resources=slow)
    assert execution.error == TIMEOUT
    assert elapsed(clock) == 10


def test_the_execution_timeout_ends_the_run_timed_out():
    clock = ManualClock()
    definition = {
        "TimeoutSeconds": 2,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}},
    }
    execution = execute(definition, {}, clock=clock)
    assert execution.status == ExecutionStatus.TIMED_OUT
    assert execution.error == TIMEOUT
    assert execution.history[-1]["type"] == "ExecutionTimedOut"
    assert elapsed(clock) == 2


async def test_stop_aborts_a_running_execution():
    clock = ManualClock()
    machine = StateMachine(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
    )
    run = ExecutionRun(machine, {}, clock=clock)

    async def operator() -> None:
        await clock.sleep(10)
        run.stop("Stopped", "by a test")

    async with asyncio.TaskGroup() as group:
        running = group.create_task(run.run())
        group.create_task(operator())
    execution = running.result()
    assert (execution.status, execution.error, execution.cause) == (
        "ABORTED",
        "Stopped",
        "by a test",
    )
    assert execution.history[-1]["type"] == "ExecutionAborted"
    assert elapsed(clock) == 10


async def test_stop_interrupts_an_endless_loop_of_pass_states():
    machine = StateMachine({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}})
    run = ExecutionRun(machine, {}, max_history_events=10**9)

    async def operator() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        run.stop()

    async with asyncio.TaskGroup() as group:
        running = group.create_task(run.run())
        group.create_task(operator())
    assert running.result().status == ExecutionStatus.ABORTED


def test_exceeding_the_history_limit_fails_the_execution_explicitly():
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    execution = execute(definition, {}, max_history_events=100)
    assert (execution.status, execution.error) == ("FAILED", RUNTIME)
    assert "maximum number of history events (100)" in execution.cause
    assert len(execution.history) == 101


def test_an_output_over_256_kib_fails_even_with_catch_all():
    definition = task_machine(
        {"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]}, Z={"Type": "Pass", "End": True}
    )
    resources = MockResources({LAMBDA: [returns("x" * 262_145)]})
    execution = execute(definition, {}, resources=resources)
    assert execution.error == DATA_LIMIT_EXCEEDED
    assert "'Work' returned a result with a size exceeding" in execution.cause


def test_runtime_errors_name_the_state_and_its_entry_event():
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "InputPath": "$.nope", "End": True},
        },
    }
    execution = execute(definition, {})
    assert execution.cause == (
        "An error occurred while executing the state 'B' (entered at the event id #4). "
        "Invalid path '$.nope' : No results for path: $['nope']"
    )


def test_runtime_errors_are_not_caught_even_by_states_all():
    definition = task_machine(
        {
            "Parameters": {"id.$": "$.missing"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}],
        },
        Z={"Type": "Pass", "End": True},
    )
    execution = execute(definition, {}, resources=MockResources({LAMBDA: [returns(1)]}))
    assert (execution.status, execution.error) == ("FAILED", RUNTIME)


def test_the_context_object_describes_the_execution_and_state():
    definition = pass_machine(
        Parameters={
            "id.$": "$$.Execution.Id",
            "name.$": "$$.Execution.Name",
            "input.$": "$$.Execution.Input",
            "state.$": "$$.State.Name",
            "entered.$": "$$.State.EnteredTime",
            "machine.$": "$$.StateMachine.Name",
        }
    )
    machine = StateMachine(definition, name="Orders")
    execution = execute(machine, {"n": 1}, name="run-1")
    assert execution.output == {
        "id": "arn:aws:states:us-east-1:123456789012:execution:Orders:run-1",
        "name": "run-1",
        "input": {"n": 1},
        "state": "P",
        "entered": "2026-01-01T00:00:00.000Z",
        "machine": "Orders",
    }


def test_retry_count_appears_in_the_context_object():
    retry = [{"ErrorEquals": ["E"], "IntervalSeconds": 1}]
    definition = task_machine({"Retry": retry, "Parameters": {"try.$": "$$.State.RetryCount"}})
    resources = MockResources({LAMBDA: [throws("E"), throws("E"), returns(1)]})
    execute(definition, {}, resources=resources)
    assert resources.payloads(LAMBDA) == [{"try": 0}, {"try": 1}, {"try": 2}]


def test_assigned_variables_are_visible_to_later_states_only():
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"x": 2, "old.$": "$x"}, "Next": "C"},
            "C": {"Type": "Pass", "Parameters": {"x.$": "$x", "old.$": "$old"}, "End": True},
        },
    }
    execution = execute(definition, {})
    assert execution.output == {"x": 2, "old": 1}
    exited = execution.history[4]["stateExitedEventDetails"]
    assert exited["assignedVariables"] == {"x": "2", "old": "1"}


def test_branches_read_outer_variables_but_keep_their_own_assignments():
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"x": 1}, "Next": "Fan"},
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "In",
                        "States": {
                            "In": {"Type": "Pass", "Assign": {"x": 5}, "Next": "Read"},
                            "Read": {"Type": "Pass", "Parameters": {"x.$": "$x"}, "End": True},
                        },
                    }
                ],
                "Next": "After",
            },
            "After": {
                "Type": "Pass",
                "Parameters": {"inner.$": "$[0].x", "outer.$": "$x"},
                "End": True,
            },
        },
    }
    assert execute(definition, {}).output == {"inner": 5, "outer": 1}


def test_a_real_clock_is_never_needed_for_long_waits():
    clock = ManualClock()
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86_400, "End": True}}}
    assert execute(definition, {"a": 1}, clock=clock).output == {"a": 1}
    assert elapsed(clock) == 86_400


async def test_aexecute_runs_inside_an_existing_event_loop():
    execution = await aexecute(pass_machine(Result=3), {})
    assert execution.output == 3


def test_executions_record_their_start_and_stop_dates():
    clock = ManualClock()
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
    execution = execute(definition, {}, clock=clock)
    assert (execution.stop_date - execution.start_date).total_seconds() == 5


def test_an_input_over_256_kib_is_refused_at_start():
    with pytest.raises(InvalidExecutionInput):
        execute(pass_machine(), {"big": "x" * 262_144})


def test_states_cut_short_by_a_failing_sibling_record_an_abort():
    slow = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    boom = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [slow, boom], "End": True}},
    }
    types = [event["type"] for event in execute(definition, {}).history]
    assert types[-3:] == ["WaitStateAborted", "ParallelStateFailed", "ExecutionFailed"]


async def test_execute_works_from_inside_a_running_event_loop() -> None:
    from runtime.asl import execute as run_sync

    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    assert run_sync(definition, {"a": 1}).output == {"a": 1}
